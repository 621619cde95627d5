"""One small repository per aggregate. Repositories take a session, return domain records and never
commit: the service's unit of work does."""
from .classes import ClassRepo
from .images import ImageRepo
from .jobs import JobRepo, SettingsRepo
from .leases import LeaseRepo
from .masks import MaskRepo
from .versions import VersionRepo

__all__ = ["ClassRepo", "ImageRepo", "JobRepo", "LeaseRepo", "MaskRepo", "SettingsRepo", "VersionRepo"]
