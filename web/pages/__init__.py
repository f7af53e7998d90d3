"""The web status page: one module per page (handlers), templates in web/templates."""
