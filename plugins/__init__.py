"""Built-in venue plugins, registered through the ``alert_bridge`` entry-point group."""
