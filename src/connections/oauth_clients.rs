//! OAuth client records (being written).
