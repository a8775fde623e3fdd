//! scenario_errors
