"""One small repository per aggregate. Repositories take a session, return domain records and never
commit: the service's unit of work does."""
from .classes import ClassRepo
from .images import ImageRepo
from .job_metrics import JobMetricRepo, MetricPoint
from .jobs import JobRepo, SettingsRepo
from .leases import LeaseRepo
from .masks import MaskRepo
from .review import QueueRow, ReviewRepo
from .trash import TrashRepo
from .versions import VersionRepo

__all__ = ["ClassRepo", "ImageRepo", "JobMetricRepo", "JobRepo", "LeaseRepo", "MaskRepo", "MetricPoint", "QueueRow",
           "ReviewRepo", "SettingsRepo", "TrashRepo", "VersionRepo"]
