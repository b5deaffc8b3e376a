"""Model artifacts and the scorer that turns a setup plus its feature row into a :class:`Score`."""
