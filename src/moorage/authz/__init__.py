"""The one permission evaluator: may this principal do this action on this resource?"""

from moorage.authz.evaluator import Authorizer
from moorage.authz.principal import ANONYMOUS, Principal

__all__ = ["ANONYMOUS", "Authorizer", "Principal"]
