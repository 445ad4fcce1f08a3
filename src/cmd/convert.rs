//! `zatan convert IN OUT`: one e-book conversion.

use std::path::Path;

use super::Failure;

/// `zatan convert`.
pub fn run(
    input: &Path,
    output: &Path,
    options: &crate::ebook::ConvertOptions,
) -> Result<String, Failure> {
    crate::ebook::convert(input, output, options)
        .map(|report| report.to_string())
        .map_err(|e| Failure::runtime(e.to_string()))
}
