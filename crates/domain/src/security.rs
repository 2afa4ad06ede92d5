//! Security evaluation (S2, S3, B4): being written on the `security` branch.
