//! Placeholder: this crate is being written; see the workspace README.
