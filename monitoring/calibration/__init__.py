"""PD calibration: the model's PD per grade recalibrated on the tenant's recorded defaults.

`maths` is the method (pure, documented there), `services` the writes (`calibrate`,
`calibration_activate`), `selectors` the reads (`pd_table` for the scoring paths), `views`
the page.
"""

from monitoring.calibration.maths import (
    DEFAULT_PRIOR_STRENGTH,
    PD_CAP,
    PD_FLOOR,
    GradeCalibration,
    calibrate_grades,
    pd_decimals,
)
from monitoring.calibration.selectors import (
    calibration_model_versions,
    calibrations,
    pd_table,
    prior_pd_table,
)
from monitoring.calibration.services import calibrate, calibration_activate

__all__ = [
    "DEFAULT_PRIOR_STRENGTH",
    "PD_CAP",
    "PD_FLOOR",
    "GradeCalibration",
    "calibrate",
    "calibrate_grades",
    "calibration_activate",
    "calibration_model_versions",
    "calibrations",
    "pd_decimals",
    "pd_table",
    "prior_pd_table",
]
