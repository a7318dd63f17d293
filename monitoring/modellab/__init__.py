"""The model lab: a tenant trains its own explainable scorecard on its history.

- `features`: the features a scorecard may use, measured from a risk frame (pure);
- `scorecard`: scoring with a trained scorecard's spec, in the built-in model's output shape
  (pure);
- `training`: binning, fitting, calibrating and the out-of-time back-test; starting and running
  a training (task ``monitoring.train_model``);
- `registry`: which model scores a tenant (its active scorecard or the built-in model);
- `lifecycle`: shadow mode, four-eyes promotion and retirement.
"""
