//! Definition, references, document highlights and rename.
