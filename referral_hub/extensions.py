"""Extensions, created unbound; create_app binds them in a fixed order."""

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from referral_hub.db import Base
from referral_hub.problems import ProblemApi

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = ProblemApi()
authorization = AuthorizationServer()
require_oauth = ResourceProtector()
babel = Babel()
csrf = CSRFProtect()
