//! Is a binary static? A FROM-scratch image has no dynamic loader and no shared libraries, so
//! a binary that needs either dies with a confusing "no such file or directory" at start.
//!
//! A small reader of 64-bit little-endian ELF (the only kind we build): the binary is static
//! when it has no `PT_INTERP` program header (no loader requested) and its dynamic section, if
//! any (static-pie binaries keep one for self-relocation), lists no `DT_NEEDED` library.

use anyhow::{Result, bail};

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

/// What makes a binary dynamic, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linkage {
    /// The loader `PT_INTERP` names.
    pub interpreter: Option<String>,
    /// How many `DT_NEEDED` entries the dynamic section has.
    pub needed: usize,
}

impl Linkage {
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.needed == 0
    }
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_le_bytes([s[0], s[1]])),
        None => bail!("truncated ELF file"),
    }
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        None => bail!("truncated ELF file"),
    }
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    match b.get(at..at + 8) {
        Some(s) => Ok(u64::from_le_bytes(s.try_into()?)),
        None => bail!("truncated ELF file"),
    }
}

fn offset(v: u64) -> Result<usize> {
    Ok(usize::try_from(v)?)
}

/// Reads the linkage of an ELF file's bytes.
pub fn linkage(b: &[u8]) -> Result<Linkage> {
    if b.get(..4) != Some(b"\x7fELF") {
        bail!("not an ELF file");
    }
    if b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        bail!("not a 64-bit little-endian ELF file");
    }
    let phoff = offset(u64_at(b, 0x20)?)?;
    let phentsize = usize::from(u16_at(b, 0x36)?);
    let phnum = usize::from(u16_at(b, 0x38)?);
    let mut result = Linkage {
        interpreter: None,
        needed: 0,
    };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let kind = u32_at(b, ph)?;
        let file_offset = offset(u64_at(b, ph + 8)?)?;
        let file_size = offset(u64_at(b, ph + 32)?)?;
        let Some(content) = b.get(file_offset..file_offset + file_size) else {
            bail!("truncated ELF file");
        };
        match kind {
            PT_INTERP => {
                let name = content.split(|c| *c == 0).next().unwrap_or_default();
                result.interpreter = Some(String::from_utf8_lossy(name).into_owned());
            }
            PT_DYNAMIC => {
                for entry in content.chunks_exact(16) {
                    match u64_at(entry, 0)? {
                        DT_NULL => break,
                        DT_NEEDED => result.needed += 1,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(result)
}

/// Fails unless the file at `path` is a static ELF binary.
pub fn check_static(path: &std::path::Path) -> Result<()> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let l = linkage(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !l.is_static() {
        bail!(
            "{} is dynamically linked (loader {:?}, {} needed libraries) and cannot run in a \
             FROM-scratch image: it must be built by `cargo xtask build` (which sets \
             -C target-feature=+crt-static for {})",
            path.display(),
            l.interpreter.as_deref().unwrap_or("none"),
            l.needed,
            crate::paths::IMAGE_TARGET,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_binary_is_dynamic() {
        let l = linkage(&std::fs::read("/bin/ls").unwrap()).unwrap();
        assert!(!l.is_static(), "{l:?}");
        assert!(l.interpreter.unwrap().contains("ld-linux"));
        assert!(l.needed >= 1);
        assert!(check_static(std::path::Path::new("/bin/ls")).is_err());
    }

    #[test]
    fn garbage_is_rejected_not_panicking() {
        assert!(linkage(b"").is_err());
        assert!(linkage(b"#!/bin/sh\n").is_err());
        let mut header = b"\x7fELF\x02\x01\x01".to_vec();
        header.resize(0x40, 0);
        header[0x38] = 5; // five program headers that are not there
        header[0x36] = 56;
        assert!(linkage(&header).is_err());
    }

    #[test]
    fn a_minimal_static_header_is_static() {
        let mut header = b"\x7fELF\x02\x01\x01".to_vec();
        header.resize(0x40, 0);
        assert!(linkage(&header).unwrap().is_static());
    }
}
