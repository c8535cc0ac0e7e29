"""Server-rendered pages for staff, partners and administrators."""
