//! Transactional histories and their checker (in progress).
