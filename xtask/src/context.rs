//! The build context of an image, made in memory: the service's CONTAINERFILE, its binary and
//! an empty `data/` directory (copied to `/data` with the service user as owner).
//!
//! Entries have fixed owners, modes and times, so the same inputs always give the same bytes
//! and the context's hash tells whether an image must be rebuilt.

use anyhow::Result;

/// Name of the CONTAINERFILE inside the context (the `dockerfile` build option).
pub const CONTAINERFILE: &str = "CONTAINERFILE";

/// A ready-to-send context and its hash.
#[derive(Debug, Clone)]
pub struct Context {
    pub tar: Vec<u8>,
    pub sha256: String,
}

fn header(path: &str, size: u64, mode: u32, kind: tar::EntryType) -> Result<tar::Header> {
    let mut h = tar::Header::new_gnu();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(kind);
    h.set_cksum();
    Ok(h)
}

/// Packs `containerfile` (text) and `binary` (bytes, stored as `<service>`).
pub fn pack(service: &str, containerfile: &str, binary: &[u8]) -> Result<Context> {
    let mut builder = tar::Builder::new(Vec::with_capacity(binary.len() + 16 * 1024));
    let files: [(&str, &[u8], u32); 2] = [
        (CONTAINERFILE, containerfile.as_bytes(), 0o644),
        (service, binary, 0o755),
    ];
    for (path, bytes, mode) in files {
        builder.append(
            &header(path, bytes.len() as u64, mode, tar::EntryType::Regular)?,
            bytes,
        )?;
    }
    builder.append(
        &header("data/", 0, 0o755, tar::EntryType::Directory)?,
        std::io::empty(),
    )?;
    let tar = builder.into_inner()?;
    let sha256 = crate::util::sha256_hex(&tar);
    Ok(Context { tar, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_containerfile_the_binary_and_data() {
        let c = pack("users", "FROM scratch\n", b"\x7fELF-binary").unwrap();
        let mut archive = tar::Archive::new(c.tar.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mode = entry.header().mode().unwrap();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut body).unwrap();
            seen.push((path, mode, body));
        }
        assert_eq!(
            seen,
            [
                (
                    "CONTAINERFILE".to_string(),
                    0o644,
                    b"FROM scratch\n".to_vec()
                ),
                ("users".to_string(), 0o755, b"\x7fELF-binary".to_vec()),
                ("data/".to_string(), 0o755, vec![]),
            ]
        );
    }

    #[test]
    fn same_inputs_same_hash() {
        let a = pack("users", "FROM scratch\n", b"bin").unwrap();
        let b = pack("users", "FROM scratch\n", b"bin").unwrap();
        let c = pack("users", "FROM scratch\n", b"bin2").unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_ne!(a.sha256, c.sha256);
    }
}
