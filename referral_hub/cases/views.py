from flask import Blueprint
bp = Blueprint("cases_portal", __name__)
