//! Ready-made scenarios: the UI's preset menu, the course pages' embeds, and test fixtures.
//! Each is a JSON file under `presets/`, readable by course authors as an example.

use commitscope_engine::Scenario;
use std::sync::OnceLock;

#[derive(Clone, Debug)]
pub struct Preset {
    /// Stable id used in URLs and embeds: `two_pc/happy_path`.
    pub id: &'static str,
    pub json: &'static str,
}

impl Preset {
    pub fn scenario(&self) -> Scenario {
        Scenario::from_json(self.json)
            .unwrap_or_else(|e| panic!("preset {} is invalid: {e}", self.id))
    }
    /// The scenario's title (or the id). Read once for every preset — pickers list them
    /// all on every render — and without parsing the whole scenario.
    pub fn title(&self) -> &'static str {
        #[derive(serde::Deserialize)]
        struct Titled {
            title: Option<String>,
        }
        static TITLES: OnceLock<Vec<Option<String>>> = OnceLock::new();
        let titles = TITLES.get_or_init(|| {
            ALL.iter()
                .map(|p| serde_json::from_str::<Titled>(p.json).ok().and_then(|t| t.title))
                .collect()
        });
        let i = ALL.iter().position(|p| p.id == self.id);
        i.and_then(|i| titles[i].as_deref()).unwrap_or(self.id)
    }
}

macro_rules! presets {
    ($($id:literal),* $(,)?) => {
        &[$(Preset { id: $id, json: include_str!(concat!("../presets/", $id, ".json")) }),*]
    };
}

pub const ALL: &[Preset] = presets![
    "two_pc/happy_path",
    "two_pc/vote_no",
    "two_pc/participant_crash",
    "two_pc/coordinator_crash_blocks",
    "two_pc/coordinator_recovers",
    "two_pc/lost_commit",
    "two_pc/duplicates",
    "two_pc/cooperative_termination",
    "two_pc/coordinator_crash_after_votes",
    "three_pc/happy_path",
    "three_pc/vote_no",
    "three_pc/coordinator_crash_after_can_commit",
    "three_pc/coordinator_crash_after_precommit",
    "three_pc/precommit_reached_one",
    "three_pc/partition_split_brain",
    "three_pc/elect_termination",
    "paxos_commit/fault_free",
    "paxos_commit/vote_no",
    "paxos_commit/leader_crash",
    "paxos_commit/f_acceptors_crash",
    "paxos_commit/f_plus_one_acceptors_crash",
    "paxos_commit/old_leader_refused",
    "paxos_commit/faster",
    "paxos_commit/colocated",
    "saga/happy_path",
    "saga/payment_declined",
    "saga/shipping_down",
    "saga/orchestrator_crash",
    "saga/duplicate_charge",
    "saga/no_idempotency",
    "saga/late_request_refused",
    "saga/concurrent_sagas",
    "saga/dirty_read",
    "saga/choreography_happy_path",
    "saga/choreography_payment_fails",
    "saga/choreography_shipping_fails",
    "tcc/happy_path",
    "tcc/try_fails",
    "tcc/empty_cancel",
    "tcc/hanging_try",
    "tcc/coordinator_recovers",
    "kv/single_vs_cross_shard",
    "kv/hot_key_waits",
    "kv/deadlock_wait_die",
    "kv/deadlock_wound_wait",
    "kv/deadlock_no_wait",
    "kv/coordinator_crash_in_doubt",
    "kv/percolator_unblocks",
    "kv/crash_before_prepare",
    "kv/crash_before_prepare_no_timeouts",
    "kv/write_skew",
    "kv/read_skew",
    "kv/lost_update",
    "kv/dirty_read",
    "kv/circular_flow",
    "kv/write_cycle",
    "kv/generated_workload",
];

pub fn find(id: &str) -> Option<&'static Preset> {
    ALL.iter().find(|p| p.id == id)
}
