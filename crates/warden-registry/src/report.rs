//! The registry's reports on the output contract ([`warden_core::report::Report`]):
//! each renders its own human text, so the CLI only calls `output::emit`.
//! `maintain` still streams `warden.registry-event/v1` JSON lines without a
//! terminal (the documented deviation); its final line carries the
//! [`MaintainReport`].

use crate::init::{HookOutcome, InitReport};
use crate::maintain::{self, MaintainReport, UpdateReport};
use crate::stats::{self, StatsReport};
use crate::validate::{self, ValidateReport};
use crate::{publish, publish::PublishReport};
use warden_core::report::Report;
use warden_core::text::shown;

impl Report for ValidateReport {
    const SCHEMA: &'static str = "registry-validate";
    fn human(&self) -> String {
        validate::render(self)
    }
    fn sarif(&self) -> Option<serde_json::Value> {
        Some(crate::sarif::sarif(self))
    }
}

impl Report for StatsReport {
    const SCHEMA: &'static str = "registry-stats";
    fn human(&self) -> String {
        stats::render(self)
    }
}

impl Report for crate::replay::ReplayReport {
    const SCHEMA: &'static str = "registry-replay";
    fn human(&self) -> String {
        crate::replay::render(self)
    }
}

impl Report for PublishReport {
    const SCHEMA: &'static str = "registry-publish";
    fn human(&self) -> String {
        publish::markdown(self)
    }
}

impl Report for MaintainReport {
    const SCHEMA: &'static str = "registry-maintain";
    fn human(&self) -> String {
        let mut s = maintain::render(self);
        if let Some(p) = &self.publish {
            s.push('\n');
            s.push_str(&publish::markdown(p));
        }
        s
    }
}

impl Report for UpdateReport {
    const SCHEMA: &'static str = "registry-update";
    fn human(&self) -> String {
        let mut s = String::new();
        for g in &self.suggestions {
            s.push_str(&format!(
                "#{} {} {} {}: {}\n",
                g.id,
                g.patch.kind.name(),
                shown(&g.patch.capability_id),
                shown(&g.patch.field_path),
                shown(&g.patch.rationale)
            ));
        }
        for n in &self.notes {
            s.push_str(&format!("note[{}]: {}\n", n.collector, shown(&n.message)));
        }
        match &self.applied {
            Some(r) => s.push_str(&maintain::render(r)),
            None if self.suggestions.is_empty() => s.push_str("nothing to suggest\n"),
            None => s.push_str(&format!(
                "{} suggestion(s); `warden registry update --apply` writes them, `warden registry maintain` reviews them\n",
                self.suggestions.len()
            )),
        }
        s
    }
}

impl Report for InitReport {
    const SCHEMA: &'static str = "registry-init";
    fn human(&self) -> String {
        let mut s = String::new();
        let verb = if self.dry_run {
            "would create"
        } else {
            "created"
        };
        for p in &self.created {
            s.push_str(&format!("{verb} {p}\n"));
        }
        for p in &self.existing {
            s.push_str(&format!("kept    {p} (exists)\n"));
        }
        if let Some(h) = &self.hook {
            let line = match h.outcome {
                HookOutcome::Written => format!(
                    "installed the pre-commit hook {}{}",
                    h.path,
                    h.backup
                        .as_ref()
                        .map(|b| format!(" (the hook it replaced is kept as {b})"))
                        .unwrap_or_default()
                ),
                HookOutcome::Unchanged => format!("the pre-commit hook {} is current", h.path),
                HookOutcome::WouldWrite => format!("would install the pre-commit hook {}", h.path),
                HookOutcome::Refused => format!(
                    "the pre-commit hook {} exists and is not warden's: not overwritten (--force replaces it)",
                    h.path
                ),
            };
            s.push_str(&line);
            s.push('\n');
        }
        if let Some(run) = &self.run {
            s.push_str(&format!("run {run} (undo with `warden undo {run}`)\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::report::{schema_name, tag};

    /// Each report's `schema` constant is the name its tag carries, and the
    /// name is in the crate's catalogue.
    #[test]
    fn schema_names_match_tags_and_catalogue() {
        let pairs = [
            (ValidateReport::SCHEMA, validate::VALIDATE_SCHEMA_ID),
            (StatsReport::SCHEMA, stats::STATS_SCHEMA_ID),
            (PublishReport::SCHEMA, publish::PUBLISH_SCHEMA_ID),
            (MaintainReport::SCHEMA, maintain::MAINTAIN_SCHEMA_ID),
            (UpdateReport::SCHEMA, maintain::UPDATE_SCHEMA_ID),
            (InitReport::SCHEMA, crate::init::INIT_SCHEMA_ID),
        ];
        let names: Vec<&str> = crate::schema::catalogue().iter().map(|(n, _)| *n).collect();
        for (name, id) in pairs {
            assert_eq!(tag(name), id);
            assert_eq!(schema_name(id), Some(name));
            assert!(names.contains(&name), "{name} not in the catalogue");
        }
    }

    #[test]
    fn init_human_lists_files_hook_and_run() {
        let r = InitReport {
            schema: crate::init::INIT_SCHEMA_ID.into(),
            run: Some("RUN1".into()),
            created: vec!["registry/README.md".into()],
            existing: vec!["registry/indexes/capabilities.yaml".into()],
            hook: Some(crate::init::HookReport {
                path: ".git/hooks/pre-commit".into(),
                outcome: HookOutcome::Written,
                backup: None,
            }),
            dry_run: false,
        };
        let h = r.human();
        assert!(h.contains("created registry/README.md\n"), "{h}");
        assert!(
            h.contains("kept    registry/indexes/capabilities.yaml (exists)\n"),
            "{h}"
        );
        assert!(
            h.contains("installed the pre-commit hook .git/hooks/pre-commit\n"),
            "{h}"
        );
        assert!(
            h.ends_with("run RUN1 (undo with `warden undo RUN1`)\n"),
            "{h}"
        );
    }
}
