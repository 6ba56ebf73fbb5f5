//! Step 3 of a pass: the executor. It turns the planned actions into
//! objects (records, merges, candidates, notes) and the ref updates of one
//! atomic push, and fills the report. It never decides: every choice was
//! made by `core::pass::plan_pass`; a merge conflict blocks its entry, which
//! is what the `Merge` and `Build` actions say.

use super::read::PassInputs;
use crate::core::control::{ControlMode, ControlRecord, fold_control};
use crate::core::pass::{Action, Hold, PassPlan, RecoveryNote, supersede_recovered_state};
use crate::core::queue::QueueRecord;
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::messages;
use crate::ops::control::{append_update as control_update, pause_record};
use crate::ops::outcome::ReactReport;
use crate::ops::train::TrainOut;
use crate::session::Session;

/// What the executor has done so far.
struct Execution<'a> {
    session: &'a Session,
    store: &'a Store,
    inputs: &'a mut PassInputs,
    report: ReactReport,
    updates: Vec<RefUpdate>,
    records: Vec<QueueRecord>,
    /// Candidates that left the train in this pass (discarded or landed).
    gone: Vec<String>,
    /// The base as this pass leaves it.
    tip: ObjectId,
    /// Where the next candidate is built.
    below: Option<ObjectId>,
}

/// Executes `plan` on `inputs`: the updates to push and the report.
pub fn apply_pass(
    session: &Session,
    store: &Store,
    inputs: &mut PassInputs,
    plan: &PassPlan,
) -> anyhow::Result<Attempt<ReactReport>> {
    let mut report = ReactReport::new(plan.state, Some(inputs.base));
    report.release = Some(inputs.release.state);
    report.recovery_owns_main = inputs.control.state.recovery_owns(&inputs.base_hex);
    report.history = inputs.judgement.history.clone();
    report.repair = plan.repair;
    let tip = inputs.base;
    let mut run = Execution {
        session,
        store,
        inputs,
        report,
        updates: Vec::new(),
        records: Vec::new(),
        gone: Vec::new(),
        tip,
        below: None,
    };
    for action in &plan.actions {
        run.execute(action)?;
    }
    run.explain(plan);
    if !run.records.is_empty() {
        let queue = &run.inputs.queue;
        let update = crate::ops::queue::append_updates(store, session, queue, &run.records)?;
        run.updates.extend(update);
    }
    Ok(if run.updates.is_empty() {
        Attempt::Done(run.report)
    } else {
        Attempt::Write(run.updates, run.report)
    })
}

impl Execution<'_> {
    fn execute(&mut self, action: &Action) -> anyhow::Result<()> {
        match action {
            Action::MoveWatermark { to, seeded } => self.move_watermark(to, *seeded),
            Action::Supersede { paused, verified } => self.supersede(paused, verified),
            Action::Pause { sha, reason } => {
                let record = pause_record(self.session, sha, reason);
                self.append_control(&record)?;
                self.report.paused_with = Some(reason.clone());
                Ok(())
            }
            Action::Merge { branches } => self.merge(branches),
            Action::DispatchCi => self.dispatch_ci(),
            Action::Discard(d) => {
                let c = self.candidate(&d.candidate_id).clone();
                self.gone.push(c.candidate_id.clone());
                let (session, store) = (self.session, self.store);
                crate::ops::train::discard(session, store, &c, d, &mut self.train_out())
            }
            Action::Block {
                branch,
                head,
                reason,
            } => {
                let session = self.session;
                crate::ops::train::block(session, branch, head, reason, &mut self.train_out());
                Ok(())
            }
            Action::Land { candidate_id } => self.land(candidate_id),
            Action::Build { branches } => self.build(branches),
            Action::Probe { branches } => self.probe(branches),
        }
    }

    fn train_out(&mut self) -> TrainOut<'_> {
        TrainOut {
            records: &mut self.records,
            report: &mut self.report,
            updates: &mut self.updates,
        }
    }

    fn candidate(&self, id: &str) -> &crate::core::train::Candidate {
        self.inputs
            .train
            .iter()
            .chain(self.inputs.probes.iter())
            .find(|(c, _)| c.candidate_id == id)
            .map(|(c, _)| c)
            .expect("the plan names live candidates")
    }

    /// The watermark is a fact, not a permission: it moves whether or not
    /// the pipeline is paused; verified on evidence, the merges it contains
    /// get their receipts in the same push.
    fn move_watermark(&mut self, to: &str, seeded: bool) -> anyhow::Result<()> {
        let to = crate::git::parse_oid(to).expect("a judged main");
        self.updates.push(RefUpdate {
            name: names::VERIFIED.into(),
            expected: self.inputs.judgement.watermark,
            new: Some(to),
        });
        self.report.watermark_advanced = Some(to.to_string());
        if seeded {
            self.report.watermark_set = Some(to.to_string());
        } else {
            let receipts = crate::ops::follow::receipts_update(self.session, self.store, to)?;
            self.updates.extend(receipts);
        }
        Ok(())
    }

    /// The running record clearing a controller pause that a newer verified
    /// main supersedes.
    fn supersede(&mut self, paused: &str, verified: &str) -> anyhow::Result<()> {
        let control = &self.inputs.control.state;
        let reason = messages::supersedes(verified, paused);
        let record = ControlRecord {
            state: ControlMode::Running,
            main_sha: None,
            resumes_control_id: control.control_id.clone(),
            recovered_main_sha: Some(paused.to_string()),
            recovered_reason: control.reason.clone(),
            recovered_state: supersede_recovered_state(control, paused),
            ..pause_record(self.session, paused, &reason)
        };
        self.append_control(&record)?;
        self.report.superseded = Some(reason);
        Ok(())
    }

    /// Appends `record` to the control ledger as this pass leaves it: one
    /// update of the ref however many records the pass appends.
    fn append_control(&mut self, record: &ControlRecord) -> anyhow::Result<()> {
        let control = &mut self.inputs.control;
        let update = control_update(self.store, control, record, self.session)?;
        control.state = fold_control(&control.state, record).0;
        control.tip = update.new;
        control.commits += 1;
        match self.updates.iter_mut().find(|u| u.name == names::CONTROL) {
            Some(existing) => existing.new = update.new,
            None => self.updates.push(update),
        }
        Ok(())
    }

    /// Merge mode: the entries merged in memory in FIFO order (a conflict
    /// blocks its entry), the base moved when anything merged.
    fn merge(&mut self, branches: &[String]) -> anyhow::Result<()> {
        let (tip, records) = crate::ops::landing::merge_batch(
            self.session,
            self.store,
            self.inputs.base,
            branches,
            &self.inputs.views,
            &mut self.report,
        )?;
        self.records.extend(records);
        if tip != self.inputs.base {
            self.move_base(tip)?;
        }
        Ok(())
    }

    fn dispatch_ci(&mut self) -> anyhow::Result<()> {
        if self.tip != self.inputs.base {
            let pending =
                crate::ops::landing::pending_ci_update(self.session, self.store, self.tip)?;
            self.updates.extend(pending);
        }
        Ok(())
    }

    /// Tested landing: the base fast-forwards to exactly the candidate's tip.
    fn land(&mut self, id: &str) -> anyhow::Result<()> {
        let c = self.candidate(id).clone();
        self.gone.push(c.candidate_id.clone());
        let (session, store) = (self.session, self.store);
        if let Some(tip) = crate::ops::train::land(session, store, &c, &mut self.train_out())? {
            self.move_base(tip)?;
        }
        Ok(())
    }

    /// Tested landing: a candidate built on the top of the train as it stays.
    fn build(&mut self, branches: &[String]) -> anyhow::Result<()> {
        let below = match self.below {
            Some(below) => below,
            None => self
                .inputs
                .train
                .iter()
                .rev()
                .find(|(c, _)| !self.gone.contains(&c.candidate_id))
                .and_then(|(c, _)| crate::git::parse_oid(&c.sha))
                .unwrap_or(self.tip),
        };
        let (session, store) = (self.session, self.store);
        let views = std::mem::take(&mut self.inputs.views);
        let mut out = self.train_out();
        let built =
            crate::ops::train::build(session, store, branches, below, &views, &mut out, false);
        self.inputs.views = views;
        self.below = Some(built?);
        Ok(())
    }

    /// Tested landing, auto depth: a probe on the base as this pass leaves
    /// it, beside the train.
    fn probe(&mut self, branches: &[String]) -> anyhow::Result<()> {
        let (session, store, base) = (self.session, self.store, self.tip);
        let views = std::mem::take(&mut self.inputs.views);
        let mut out = self.train_out();
        let built =
            crate::ops::train::build(session, store, branches, base, &views, &mut out, true);
        self.inputs.views = views;
        built.map(|_| ())
    }

    /// Moves the base branch to `tip` (compare-and-swap) and leases the
    /// control ledger too (an unchanged value: verified, not written), so a
    /// pause that lands while this pass merges makes the push stale instead
    /// of letting main move under it. With no ledger yet, starting it is the lease.
    fn move_base(&mut self, tip: ObjectId) -> anyhow::Result<()> {
        match self
            .updates
            .iter_mut()
            .find(|u| u.name == self.session.base_ref())
        {
            Some(existing) => existing.new = Some(tip),
            None => self.updates.push(RefUpdate {
                name: self.session.base_ref(),
                expected: Some(self.inputs.base),
                new: Some(tip),
            }),
        }
        self.tip = tip;
        self.report.new_base_sha = Some(tip.to_string());
        let control_guarded = self.updates.iter().any(|u| u.name == names::CONTROL);
        match (control_guarded, self.inputs.control.tip) {
            (true, _) => {}
            (false, Some(tip)) => self.updates.push(RefUpdate::verify(names::CONTROL, tip)),
            (false, None) => {
                let start = super::ledger_start_record(self.session);
                self.append_control(&start)?;
            }
        }
        Ok(())
    }

    /// The report's words: why merging stopped short, and what a recovery means.
    fn explain(&mut self, plan: &PassPlan) {
        let inputs = &self.inputs;
        if plan.hold != Some(Hold::Paused) {
            self.report.waiting = crate::core::pass::waiting(&inputs.views);
        }
        self.report.why = match &plan.hold {
            Some(Hold::Paused) => Some(messages::react_paused(&inputs.control.state)),
            Some(Hold::Failure { sha, reason }) => {
                let why = match inputs.judgement.history.failure.as_ref() {
                    Some(older) if &older.sha == sha => &older.why,
                    _ => &inputs.release.why,
                };
                Some(format!("{reason}: {why}"))
            }
            Some(Hold::Held(why)) => Some(why.clone()),
            None => {
                let recovered = inputs
                    .control
                    .state
                    .recovered_reason
                    .as_deref()
                    .unwrap_or("");
                let (base, state) = (&inputs.base_hex, inputs.release.state.as_str());
                match plan.recovery {
                    RecoveryNote::OwnsFailure => {
                        Some(messages::recovery_owns_why(base, recovered, state))
                    }
                    RecoveryNote::Resumed => {
                        Some(messages::recovery_resumed_why(base, recovered, state))
                    }
                    RecoveryNote::None => None,
                }
            }
        };
    }
}
