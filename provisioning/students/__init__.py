"""Students (and staff) get in: the personal join e-mail, its signed link, the join page's
service and the roster status."""
