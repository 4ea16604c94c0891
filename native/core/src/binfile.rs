//! iden3's binary container (the `.zkey`, `.r1cs` and `.wtns` files): a 4-byte magic, a
//! version, a section count, then sections of `type u32 | size u64 | bytes`.
use std::collections::HashMap;

use crate::{NativeError, Result};

/// A little-endian cursor over bytes that names what it was reading when they ran out.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'a str,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], what: &'a str) -> Self {
        Reader { data, pos: 0, what }
    }

    pub fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                NativeError::Format(format!(
                    "the {} is truncated at {field} (byte {} of {})",
                    self.what,
                    self.pos,
                    self.data.len()
                ))
            })?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4, field)?.try_into().expect("4 bytes"),
        ))
    }

    pub fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, field)?.try_into().expect("8 bytes"),
        ))
    }

    pub fn rest(&self) -> usize {
        self.data.len() - self.pos
    }
}

/// The sections of a container file, by type (the first of each type), after checking the
/// magic and version.
pub fn sections<'a>(
    data: &'a [u8],
    magic: &[u8; 4],
    version: u32,
    what: &'a str,
) -> Result<HashMap<u32, &'a [u8]>> {
    let mut r = Reader::new(data, what);
    if r.take(4, "magic")? != magic {
        return Err(NativeError::Format(format!(
            "not a {} file (magic)",
            String::from_utf8_lossy(magic)
        )));
    }
    let found = r.u32("version")?;
    if found != version {
        return Err(NativeError::Format(format!(
            "version {found}, expected {version}"
        )));
    }
    let count = r.u32("section count")?;
    let mut out = HashMap::new();
    for _ in 0..count {
        let kind = r.u32("section type")?;
        let size = usize::try_from(r.u64("section size")?)
            .map_err(|_| NativeError::Format(format!("section {kind} is too large")))?;
        let body = r.take(size, "section body")?;
        out.entry(kind).or_insert(body);
    }
    Ok(out)
}

/// Section ``id`` or an error naming it.
pub fn section<'a>(all: &HashMap<u32, &'a [u8]>, id: u32) -> Result<&'a [u8]> {
    all.get(&id)
        .copied()
        .ok_or_else(|| NativeError::Format(format!("section {id} is missing")))
}

/// The message of a container error, for a caller that names the file.
pub fn detail(err: NativeError) -> String {
    match err {
        NativeError::Format(m) => m,
        other => other.to_string(),
    }
}
