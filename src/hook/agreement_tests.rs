//! Fuzzer-style property tests: random and mutated records, note lines and
//! snapshots are fed to the hook's checks and to the readers. Nothing panics,
//! and the two always agree: whatever the hook accepts, readers read as the
//! very same value (the hook may be stricter, never looser).

use super::ledger_check::{SnapshotFacts, check_snapshot, hook_record};
use super::rules::{check_recovery_line, check_result_line};
use crate::core::control::ControlState;
use crate::core::queue::QueueState;
use crate::core::results::{parse_note, validate_line};
use crate::git::ObjectId;
use crate::ledger::{
    ControlLedger, LedgerKind, QueueLedger, Snapshot, reader_record, reader_snapshot,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn commit() -> ObjectId {
    crate::git::parse_oid(COMMIT).expect("a sha")
}

/// Strings that stress decoders: plain, empty, unicode, control characters, quotes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,12}",
        Just(String::new()),
        Just("é ✓ 日本".to_owned()),
        Just("bell\u{7}".to_owned()),
        Just("esc\u{1b}[2J".to_owned()),
        Just("quote\"back\\slash".to_owned()),
        Just(COMMIT.to_owned()),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(json!([1, "two"])),
        Just(json!({"nested": {"deep": true}})),
    ]
}

/// A control record, valid or nearly.
fn control_record() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just(json!(1)), Just(json!(2)), Just(json!("1"))],
        prop::option::of(text()),
        prop::sample::select(vec!["paused", "running", "stopped"]),
        text(),
        prop::option::of(prop_oneof![Just(COMMIT.to_owned()), text()]),
        prop::option::of(text()),
        text(),
        prop::collection::vec(("[a-z_]{1,8}", value()), 0..3),
    )
        .prop_map(|(schema, id, state, reason, main, resumes, actor, extra)| {
            let mut record = json!({"schema": schema, "state": state, "reason": reason,
                                     "actor": actor, "at": "2026-01-01T00:00:00Z"});
            if let Some(id) = id {
                record["control_id"] = json!(id);
            }
            if let Some(main) = main {
                record["main_sha"] = json!(main);
            }
            if let Some(resumes) = resumes {
                record["resumes_control_id"] = json!(resumes);
            }
            for (k, v) in extra {
                record[k] = v;
            }
            record
        })
}

/// A queue record, valid or nearly.
fn queue_record() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["request", "cancel", "block", "merged", "fly"]),
        text(),
        prop::option::of(prop_oneof![Just(COMMIT.to_owned()), text()]),
        text(),
    )
        .prop_map(|(action, branch, head, actor)| {
            let mut record = json!({"schema": 1, "action": action, "branch": branch,
                                     "actor": actor, "at": "2026-01-01T00:00:00Z"});
            if let Some(head) = head {
                record["head_sha"] = json!(head.clone());
                record["merge_sha"] = json!(head);
            }
            record
        })
}

/// Byte-level mutations of a serialized JSON text.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    DuplicateFirstKey,
    Truncate(usize),
    Flip(usize, u8),
    Append(Vec<u8>),
    Latin1,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => Just(Mutation::None),
        1 => Just(Mutation::DuplicateFirstKey),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => prop::collection::vec(any::<u8>(), 1..4).prop_map(Mutation::Append),
        1 => Just(Mutation::Latin1),
    ]
}

fn mutate(text: String, mutation: &Mutation) -> Vec<u8> {
    let mut bytes = text.clone().into_bytes();
    match mutation {
        Mutation::None => {}
        Mutation::DuplicateFirstKey => {
            if let Some(end) = text.find(',') {
                let first = &text[1..end];
                bytes = format!("{{{first},{}", &text[1..]).into_bytes();
            }
        }
        Mutation::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
        Mutation::Flip(at, byte) => {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
        }
        Mutation::Append(extra) => bytes.extend_from_slice(extra),
        Mutation::Latin1 => bytes.push(0xe9),
    }
    bytes
}

/// The hook accepts ⇒ readers accept, with the same record.
fn agree<K: super::ledger_check::HookLedger>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    K::Record: PartialEq + std::fmt::Debug,
{
    let hook = hook_record::<K>(bytes);
    let reader = reader_record::<K>(bytes, commit());
    if let Ok(accepted) = &hook {
        prop_assert_eq!(Some(accepted), reader.as_ref().ok(), "the reader disagrees");
    }
    if reader.is_err() {
        prop_assert!(hook.is_err(), "the hook let through what readers reject");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn control_records_are_read_as_the_hook_judged_them(
        record in control_record(), m in mutation(),
    ) {
        agree::<ControlLedger>(&mutate(record.to_string(), &m))?;
    }

    #[test]
    fn queue_records_are_read_as_the_hook_judged_them(
        record in queue_record(), m in mutation(),
    ) {
        agree::<QueueLedger>(&mutate(record.to_string(), &m))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_either_side(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        agree::<ControlLedger>(&bytes)?;
        agree::<QueueLedger>(&bytes)?;
        let _ = check_recovery_line(&String::from_utf8_lossy(&bytes));
        let _ = parse_note(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn result_lines_the_hook_accepts_read_as_one_record(
        check in text(),
        status in prop::sample::select(vec!["pending", "success", "failure", "cancelled", "skipped", "green"]),
        at in prop_oneof![Just("2026-01-01T00:00:00Z".to_owned()), text()],
        extra in prop::collection::vec(("[a-z_]{1,8}", value()), 0..2),
        m in mutation(),
    ) {
        let mut line = json!({"check": check, "status": status, "at": at});
        for (k, v) in extra {
            line[k] = v;
        }
        let bytes = mutate(line.to_string(), &m);
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()); };
        if text.contains('\n') || text.contains('\r') {
            return Ok(());
        }
        let note = parse_note(&text);
        if check_result_line(&text).is_ok() {
            prop_assert_eq!(note.records.len(), 1, "{:?}", note.problems);
            prop_assert!(note.problems.is_empty());
            let validated = validate_line(&text).ok();
            prop_assert_eq!(Some(&note.records[0]), validated.as_ref());
        }
        if !note.problems.is_empty() {
            prop_assert!(check_result_line(&text).is_err(), "the hook let through a line readers reject");
        }
    }

    #[test]
    fn snapshots_the_hook_accepts_are_what_readers_trust(
        paused in any::<bool>(), id in text(), problems in prop::collection::vec(text(), 0..2),
        m in mutation(), queue in any::<bool>(), version in 1u32..=3,
    ) {
        let blob = commit();
        if queue {
            let state = QueueState::default();
            let facts = SnapshotFacts { record_blob: blob, parent: None, commits: 1, state: &state, problems: &problems };
            let snapshot = Snapshot { schema: version, record_blob: COMMIT.to_owned(), parent: String::new(), commits: 1, state: state.clone(), problems: problems.clone() };
            let bytes = mutate(serde_json::to_string(&snapshot).expect("json"), &m);
            check_one::<QueueLedger>(&bytes, &facts)?;
        } else {
            let state = ControlState {
                state: if paused { crate::core::control::ControlMode::Paused } else { crate::core::control::ControlMode::Running },
                control_id: Some(id),
                ..ControlState::default()
            };
            let facts = SnapshotFacts { record_blob: blob, parent: None, commits: 1, state: &state, problems: &problems };
            let snapshot = Snapshot { schema: version, record_blob: COMMIT.to_owned(), parent: String::new(), commits: 1, state: state.clone(), problems: problems.clone() };
            let bytes = mutate(serde_json::to_string(&snapshot).expect("json"), &m);
            check_one::<ControlLedger>(&bytes, &facts)?;
        }
    }
}

/// The hook accepts a snapshot ⇒ readers either ignore it (another fold
/// version, whatever it says) or read exactly the facts from it.
fn check_one<K: LedgerKind>(
    bytes: &[u8],
    facts: &SnapshotFacts<K::State>,
) -> Result<(), TestCaseError>
where
    K::State: std::fmt::Debug,
{
    if check_snapshot::<K>(bytes, facts).is_ok()
        && let Some(read) = reader_snapshot::<K::State>(bytes)
        && read.schema == K::FOLD_VERSION
    {
        prop_assert_eq!(&read.state, facts.state);
        prop_assert_eq!(&read.problems[..], facts.problems);
        prop_assert_eq!(read.commits, facts.commits);
    }
    Ok(())
}

#[test]
fn the_generators_reach_both_verdicts() {
    let valid = json!({"schema": 1, "control_id": "a", "state": "paused", "reason": "r",
                       "actor": "x", "at": "2026-01-01T00:00:00Z"});
    let bytes = valid.to_string().into_bytes();
    assert!(hook_record::<ControlLedger>(&bytes).is_ok());
    assert!(reader_record::<ControlLedger>(&bytes, commit()).is_ok());
    // Stricter, never looser: a record without control_id is adopted by
    // readers (an old tool wrote it) and refused by the hook (a new one).
    let legacy = json!({"schema": 1, "state": "paused", "reason": "r"}).to_string();
    assert!(hook_record::<ControlLedger>(legacy.as_bytes()).is_err());
    let adopted = reader_record::<ControlLedger>(legacy.as_bytes(), commit()).expect("adopted");
    assert_eq!(adopted.control_id, format!("commit:{COMMIT}"));
    let duplicate = mutate(valid.to_string(), &Mutation::DuplicateFirstKey);
    assert!(hook_record::<ControlLedger>(&duplicate).is_err());
    assert!(reader_record::<ControlLedger>(&duplicate, commit()).is_err());
}

/// One coordinator list spelled one of the ways TOML allows.
fn spelled_coordinators(names: &[String], how: u8) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let literal: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match how % 6 {
        0 => format!("[queue]\ncoordinator_actors = [{}]\n", quoted.join(", ")),
        1 => format!(
            "[queue]\ncoordinator_actors = [\n  {},\n]\n",
            quoted.join(",\n  ")
        ),
        2 => format!("queue.coordinator_actors = [{}]\n", literal.join(",")),
        3 => format!(
            "queue = {{ coordinator_actors = [{}] }}\n",
            quoted.join(", ")
        ),
        4 => format!(
            "[queue]\n\"coordinator_actors\" = [{}]\n",
            quoted.join(", ")
        ),
        _ => format!(
            "# a comment\n[queue]\n  coordinator_actors   =   [ {} ]   # trailing\n",
            quoted.join(" , ")
        ),
    }
}

proptest! {
    /// Policies: however TOML spells the coordinator list, the policy readers
    /// parse and the hook's lenient reading of a broken file find the same
    /// names; broken elsewhere, the lenient reading finds them or fails
    /// closed (None), never another list.
    #[test]
    fn every_spelling_of_the_coordinators_reads_the_same(
        names in prop::collection::vec("[a-z]{1,8}", 1..4),
        how in 0..6u8,
        broken in any::<bool>(),
    ) {
        let text = spelled_coordinators(&names, how);
        if let Ok(policy) = crate::core::policy::parse_policy(&text, "p") {
            prop_assert_eq!(&policy.queue.coordinator_actors, &names);
        }
        let lenient = super::authority::lenient_coordinators(&text);
        prop_assert_eq!(lenient.as_ref(), Some(&names), "{}", text);
        if broken {
            let text = format!("{text}\n[queue.typo\n");
            let lenient = super::authority::lenient_coordinators(&text);
            prop_assert!(lenient.is_none() || lenient.as_ref() == Some(&names), "{text}: {lenient:?}");
        }
    }

    /// Ref names: every spelling of the tool's namespaces (any letter case,
    /// bytes that are not UTF-8 read lossily) is governed, never unrelated.
    #[test]
    fn every_name_in_the_tools_namespaces_is_governed(
        space in prop::sample::select(vec!["refs/heads/deploybot", "refs/deploybot", "refs/notes/deploybot", "refs/heads/deploybot/try", "refs/heads/deploybot/repair"]),
        flips in prop::collection::vec(any::<bool>(), 32),
        rest in prop::option::of(prop::collection::vec(any::<u8>(), 1..6)),
    ) {
        let cased: String = space
            .chars()
            .zip(flips.iter().cycle())
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect();
        let mut bytes = cased.into_bytes();
        if let Some(rest) = rest {
            bytes.push(b'/');
            bytes.extend(rest.into_iter().filter(|b| *b != b'\n' && *b != 0));
        }
        let name = String::from_utf8_lossy(&bytes).into_owned();
        let kind = super::rules::classify_ref(&name, "refs/heads/main", "deploybot/repair");
        prop_assert!(kind.is_governed(), "{name:?} is {kind:?}");
    }

    /// Dates: whatever `at` a result line carries (offsets, fractions, far
    /// futures, garbage), the hook refuses exactly what readers skip as no
    /// evidence yet, against the same clock.
    #[test]
    fn the_hook_and_the_readers_agree_on_time(
        offset in -100_000i64..100_000,
        style in 0..4u8,
        now in 1_700_000_000i64..1_900_000_000,
    ) {
        let at_seconds = now + offset;
        let base = crate::core::time::format_rfc3339(at_seconds);
        let at = match style {
            0 => base,
            1 => base.replace('Z', ".999Z"),
            2 => crate::core::time::format_rfc3339(at_seconds + 3600).replace('Z', "+01:00"),
            _ => "not a time".to_owned(),
        };
        let hook_refuses = super::rules::not_ahead_of(&at, now).is_err();
        let reader_skips = crate::core::time::parse_rfc3339(&at)
            .is_some_and(|t| crate::core::time::ahead_of(t, now));
        prop_assert_eq!(hook_refuses, reader_skips, "{}", at);
    }
}
