//! The registry as loaded: the index, every entry, and what could not be
//! read. Patches change it in memory ([`crate::patch::apply`]); [`Registry::writes`]
//! then lists the files whose content changed, each with the digest of what
//! was read, for the engine's preconditions.

use crate::cache::ParseCache;
use crate::model::{ENTRIES_DIR, Entry, INDEX_PATH, Index};
use crate::validate::{Problem, Severity};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use warden_core::digest::Digest;
use warden_core::{Error, Result};

#[derive(Debug, Clone)]
pub struct Registry {
    /// None when the index file is missing or unreadable.
    pub index: Option<Index>,
    /// Entries that parsed, sorted by path.
    pub entries: Vec<Entry>,
    /// Files that could not be read or parsed.
    pub load_problems: Vec<Problem>,
    /// The bytes read, per repository-relative path (None: absent).
    pub originals: BTreeMap<String, Option<Vec<u8>>>,
    pub index_dirty: bool,
    pub dirty: BTreeSet<String>,
    /// The position in `entries` of each id's first entry (built at load;
    /// patches never change an entry's id or the list of entries).
    by_id: HashMap<String, usize>,
    /// The front matter of each entry a patch touched, as loaded (kept on
    /// the first touch), so the in-place rewrite need not parse the file's
    /// old text again.
    as_loaded: HashMap<String, crate::model::EntryMeta>,
    /// The index as loaded (None: missing or invalid), what the loaded
    /// text says, so the index is written by editing the changed rows of
    /// that text in place.
    index_as_loaded: Option<Index>,
}

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub path: String,
    pub content: String,
    /// The digest of the content read (None: the file did not exist).
    pub expect: Option<Digest>,
    /// Fields of an entry inside whose old value a comment could not be
    /// kept (see [`crate::frontmatter::rewrite_noting`]).
    pub comments_lost: Vec<String>,
}

/// Contents that stand in for files on disk (path -> bytes, None: absent):
/// the registry as it was before a run, for `warden replay`.
pub type Overrides = BTreeMap<String, Option<Vec<u8>>>;

fn read(root: &Path, rel: &str, over: &Overrides) -> Result<Option<Vec<u8>>> {
    if let Some(b) = over.get(rel) {
        return Ok(b.clone());
    }
    if rel == INDEX_PATH {
        // The index is configuration: never read through a link.
        return warden_core::strict::read_repo_file(root, rel);
    }
    let p = root.join(rel);
    match std::fs::read(&p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io {
            op: "read",
            path: p,
            source: e,
        }),
    }
}

/// One entry file as loaded: its path, its bytes (None: vanished between
/// listing and reading), its parse, the hex digest of the bytes, and whether
/// the parse came from the cache.
type Loaded = (
    String,
    Option<Vec<u8>>,
    Option<Result<Entry>>,
    Option<String>,
    bool,
);

/// Every `registry/capabilities/*.md`, read and parsed in parallel (or taken
/// from `cache` by the digest of its bytes), sorted by path.
/// The index file's bytes and, when it exists, its parse, its cache key,
/// and whether the cache had it.
type IndexLoad = (Option<Vec<u8>>, Option<(Result<Index>, String, bool)>);

/// The index as [`IndexLoad`], parsed from the cache when the digest matches.
fn load_index(root: &Path, over: &Overrides, cache: &ParseCache) -> Result<IndexLoad> {
    let raw = read(root, INDEX_PATH, over)?;
    let parsed = raw.as_deref().map(|b| {
        let key = Digest::of(b).hex();
        match &cache.index {
            Some((k, ix)) if *k == key => (Ok(ix.clone()), key, true),
            _ => (Index::parse(b, INDEX_PATH), key, false),
        }
    });
    Ok((raw, parsed))
}

fn load_entries(root: &Path, over: &Overrides, cache: &ParseCache) -> Result<Vec<Loaded>> {
    let dir = root.join(ENTRIES_DIR);
    let mut names = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            for d in rd {
                let d = d.map_err(|e| Error::Io {
                    op: "read",
                    path: dir.clone(),
                    source: e,
                })?;
                let name = d.file_name().to_string_lossy().into_owned();
                if name.ends_with(".md") && d.file_type().is_ok_and(|t| t.is_file()) {
                    names.push(name);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Io {
                op: "read",
                path: dir,
                source: e,
            });
        }
    }
    names.sort();
    names
        .into_par_iter()
        .map(|name| {
            let rel = format!("{ENTRIES_DIR}/{name}");
            let bytes = read(root, &rel, over)?;
            let Some(b) = bytes.as_deref() else {
                return Ok((rel, bytes, None, None, false));
            };
            let key = Digest::of(b).hex();
            let (parsed, hit) = match cache.entries.get(&key) {
                Some(meta) => (Entry::from_parsed(b, &rel, meta.clone()), true),
                None => (Entry::parse(b, &rel), false),
            };
            Ok((rel, bytes, Some(parsed), Some(key), hit))
        })
        .collect()
}

impl Registry {
    /// Read the index and every `registry/capabilities/*.md`. The index and
    /// the entries are read and parsed in parallel (rayon), then merged in
    /// path order, so the result does not depend on the schedule.
    pub fn load(root: &Path) -> Result<Registry> {
        Self::load_with(root, &Overrides::new())
    }

    /// [`Registry::load`] with some files' contents given instead of read.
    pub fn load_with(root: &Path, over: &Overrides) -> Result<Registry> {
        let mut reg = Registry {
            index: None,
            entries: Vec::new(),
            load_problems: Vec::new(),
            originals: BTreeMap::new(),
            index_dirty: false,
            dirty: BTreeSet::new(),
            by_id: HashMap::new(),
            as_loaded: HashMap::new(),
            index_as_loaded: None,
        };
        let cache = ParseCache::read(root);
        let (index, entries) = rayon::join(
            || load_index(root, over, &cache),
            || load_entries(root, over, &cache),
        );
        let (raw, parsed) = index?;
        // Whether the cache no longer says exactly what this load saw.
        let mut changed = false;
        let mut index_key = None;
        let parsed = parsed.map(|(ix, key, hit)| {
            changed |= !hit && ix.is_ok();
            if ix.is_ok() {
                index_key = Some(key);
            }
            ix
        });
        changed |= cache.index.is_some() && index_key.is_none();
        reg.take_index(parsed);
        reg.originals.insert(INDEX_PATH.into(), raw);
        let (entries_changed, keys) = reg.take_entries(entries?);
        changed |= entries_changed;
        for (i, e) in reg.entries.iter().enumerate() {
            reg.by_id.entry(e.meta.id.clone()).or_insert(i);
        }
        let seen: std::collections::HashSet<&String> = keys.iter().collect();
        if changed || seen.len() != cache.entries.len() {
            reg.write_cache(root, &keys, index_key);
        }
        Ok(reg)
    }

    /// The parsed index, or the load problem that it is missing or invalid.
    fn take_index(&mut self, parsed: Option<Result<Index>>) {
        match parsed {
            None => self.load_problems.push(Problem::new(
                "index_missing",
                Severity::Error,
                INDEX_PATH,
                "(file)",
                "the registry index does not exist",
                "run `warden registry init`",
            )),
            Some(Ok(ix)) => {
                self.index_as_loaded = Some(ix.clone());
                self.index = Some(ix)
            }
            Some(Err(e)) => self
                .load_problems
                .push(Problem::from_error("index_invalid", &e)),
        }
    }

    /// The entries parsed (in path order) and the problems of those that
    /// are not; whether one was parsed anew (not from the cache), and the
    /// cache keys of the entries kept.
    fn take_entries(&mut self, loaded: Vec<Loaded>) -> (bool, Vec<String>) {
        let mut changed = false;
        self.entries.reserve(loaded.len());
        let mut keys: Vec<String> = Vec::with_capacity(loaded.len());
        for (rel, bytes, parsed, key, hit) in loaded {
            match parsed {
                Some(Ok(e)) => {
                    changed |= !hit;
                    keys.push(key.unwrap_or_default());
                    self.entries.push(e)
                }
                Some(Err(e)) => self
                    .load_problems
                    .push(Problem::from_error("entry_invalid", &e)),
                None => {}
            }
            self.originals.insert(rel, bytes);
        }
        (changed, keys)
    }

    /// The next cache: what this load saw, and nothing else.
    fn write_cache(&self, root: &Path, keys: &[String], index_key: Option<String>) {
        let mut next = ParseCache::new();
        next.entries = keys
            .iter()
            .zip(&self.entries)
            .map(|(k, e)| (k.clone(), e.meta.clone()))
            .collect();
        next.index = index_key.zip(self.index.clone());
        next.write(root);
    }

    /// Keep entry `i`'s front matter as it is now, unless already kept: a
    /// patch calls this before it changes the entry.
    pub fn keep_as_loaded(&mut self, i: usize) {
        if let Some(e) = self.entries.get(i)
            && !self.as_loaded.contains_key(&e.path)
        {
            self.as_loaded.insert(e.path.clone(), e.meta.clone());
        }
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.position(id).map(|i| &self.entries[i])
    }

    /// The position in `entries` of the first entry with this id.
    pub fn position(&self, id: &str) -> Option<usize> {
        match self.by_id.get(id) {
            Some(&i) if self.entries.get(i).is_some_and(|e| e.meta.id == id) => Some(i),
            // Not indexed (or the list changed since load): look it up.
            _ => self.entries.iter().position(|e| e.meta.id == id),
        }
    }

    /// The index, created empty when it was missing.
    pub fn index_mut(&mut self) -> &mut Index {
        self.index.get_or_insert_with(|| Index {
            updated: "1970-01-01".into(),
            capabilities: Vec::new(),
        })
    }

    pub fn touch_index(&mut self) {
        self.index_dirty = true;
    }

    pub fn touch_entry(&mut self, path: &str) {
        self.dirty.insert(path.to_string());
        // Any write bumps the index's `updated` (seed L727-729).
        self.index_dirty = true;
    }

    /// The files whose content changes, sorted by path; `today` stamps the
    /// index's `updated` when anything is written.
    pub fn writes(&self, today: &str) -> Result<Vec<Write>> {
        // Render the changed entries in parallel (each is independent).
        let rendered: Vec<Option<Write>> = self
            .entries
            .par_iter()
            .filter(|e| self.dirty.contains(&e.path))
            .map(|e| -> Result<Option<Write>> {
                let orig = self.originals.get(&e.path).and_then(Option::as_deref);
                let (content, comments_lost) =
                    e.render_noting(orig, self.as_loaded.get(&e.path))?;
                Ok((orig != Some(content.as_bytes())).then(|| Write {
                    path: e.path.clone(),
                    content,
                    expect: orig.map(Digest::of),
                    comments_lost,
                }))
            })
            .collect::<Result<_>>()?;
        let mut out: Vec<Write> = rendered.into_iter().flatten().collect();
        if (self.index_dirty || !out.is_empty())
            && let Some(w) = self.index_write(today)?
        {
            out.push(w);
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The index's write, if its text changes: the loaded text with the
    /// changed rows and `updated` edited in place ([`crate::index_text`]),
    /// or the canonical form when there is no loaded text to edit.
    fn index_write(&self, today: &str) -> Result<Option<Write>> {
        let Some(ix) = &self.index else {
            return Ok(None);
        };
        let old = self.index_as_loaded.as_ref();
        if old.is_some_and(|o| o.updated == today) && old == Some(ix) {
            // No row changed and the date is today's: nothing to write.
            return Ok(None);
        }
        let mut ix = ix.clone();
        ix.updated = today.to_string();
        let orig = self.originals.get(INDEX_PATH).and_then(Option::as_deref);
        let text = orig.and_then(|b| std::str::from_utf8(b).ok());
        let (content, comments_lost) = match (text, old) {
            (Some(t), Some(o)) => crate::index_text::rewrite(t, o, &ix)?,
            _ => (ix.render()?, Vec::new()),
        };
        if orig == Some(content.as_bytes()) {
            return Ok(None);
        }
        Ok(Some(Write {
            path: INDEX_PATH.into(),
            content,
            expect: orig.map(Digest::of),
            comments_lost,
        }))
    }

    /// The registry as it will be after [`Registry::writes`]: what the batch
    /// validation checks.
    pub fn staged(&self, today: &str) -> Result<Registry> {
        self.staged_with(&self.writes(today)?)
    }

    /// [`Registry::staged`] from writes already rendered. The staged
    /// registry is the in-memory one the writes were rendered from: rendering
    /// is a fixed point of parsing (unit and property tests), so validating it
    /// validates what lands on disk without parsing every written file again.
    pub fn staged_with(&self, writes: &[Write]) -> Result<Registry> {
        let mut next = self.clone();
        next.stage(writes);
        Ok(next)
    }

    /// [`Registry::staged_with`] in place: this registry becomes the one the
    /// writes land as (no copy of every entry).
    pub fn stage(&mut self, writes: &[Write]) {
        let next = self;
        for w in writes {
            if w.path == INDEX_PATH
                && let Some(ix) = &mut next.index
                && let Some(updated) = crate::index_text::updated_of(&w.content)
            {
                ix.updated = updated;
            }
            next.originals
                .insert(w.path.clone(), Some(w.content.clone().into_bytes()));
        }
        next.dirty.clear();
        next.index_dirty = false;
        next.as_loaded.clear();
        next.index_as_loaded = next.index.clone();
    }
}
