"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from referral_hub import create_app

app = create_app()
