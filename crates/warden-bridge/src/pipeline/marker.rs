//! The batch marker `.bridge/batch.json`: the files of a batch, their sha256
//! and the output names assigned, made durable before anything the batch
//! causes; read back after a crash to finish that batch.

use crate::layout::Layout;
use crate::outputs::{Writer, pretty};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Marker {
    pub schema: String,
    pub items: Vec<MarkerItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MarkerItem {
    pub file: String,
    pub sha256: String,
    /// `archive/<key>.json` or `dead_letter/<key>.json`.
    pub key: String,
    pub accepted: bool,
}

/// The marker of a crashed batch (empty when there is none).
pub(super) fn read(layout: &Layout) -> Marker {
    std::fs::read(layout.marker())
        .ok()
        .filter(|b| !b.is_empty())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Durably record the batch before anything it causes can be durable.
pub(super) fn write(layout: &Layout, marker: &Marker, w: &mut Writer) -> std::io::Result<()> {
    std::fs::create_dir_all(layout.private())?;
    let path = layout.marker();
    let existed = path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    std::io::Write::write_all(&mut f, &pretty(marker))?;
    f.sync_data()?;
    w.flushes += 1;
    if !existed {
        warden_core::fsutil::sync_dir(&layout.private()).map_err(std::io::Error::other)?;
        w.flushes += 1;
    }
    Ok(())
}

/// Not fsynced: a marker that survives names files that are gone, or
/// files that are then taken again and recognised by their sha256.
pub(super) fn clear(layout: &Layout) {
    if let Ok(f) = std::fs::OpenOptions::new()
        .write(true)
        .open(layout.marker())
    {
        let _ = f.set_len(0);
    }
}
