"""pytest plugin: report event-loop blocking found while tests run."""
