//! two_pc
