//! TLS trust beyond Mozilla's built-in roots: an owner's private CA.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The certificates in a PEM file, each checked to be usable as a trust anchor.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM file ({e})", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    for (i, der) in certificates.iter().enumerate() {
        rustls::RootCertStore::empty().add(der.clone()).map_err(|e| {
            format!("certificate {} in {} cannot be a trusted root ({e})", i + 1, path.display())
        })?;
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_problems_are_explained() {
        let tmp = crate::temp_dir::TempDir::new("ca-file");
        let dir = tmp.path();
        let missing = dir.join("missing.pem");
        assert!(read_ca_file(&missing).unwrap_err().contains("cannot read"));
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(read_ca_file(&empty).unwrap_err().contains("no PEM certificate"));
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap();
        assert!(read_ca_file(&garbage).unwrap_err().contains("cannot be a trusted root"));
    }
}
