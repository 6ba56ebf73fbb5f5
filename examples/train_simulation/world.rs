//! The simulated world: which requests arrive when, which are culprits,
//! and what a run measured.

/// SplitMix64: small, fixed-seed, good enough to pick culprits.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A synthetic commit id, unique in its first 12 hex digits (repair branch names use them).
pub fn sha(n: u64) -> String {
    format!(
        "{:012x}{n:028x}",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16
    )
}

/// The requests: names, heads, arrival minutes and which are culprits.
pub struct Scenario {
    pub names: Vec<String>,
    pub heads: Vec<String>,
    pub arrival: Vec<u64>,
    pub culprit: Vec<bool>,
    /// Each CI run of a candidate fails spuriously with this probability, per mille.
    pub flaky_per_mille: u64,
    /// The seed (the flaky runs are drawn from it).
    pub seed: u64,
    /// `pipeline.reuse_results = "tree"`: each request branches from main
    /// as it is when requested and its head passed CI there, so a commit
    /// with the identical tree (that head merged alone onto that same main,
    /// or built alone on it) reuses the result instead of running CI.
    pub reuse: bool,
}

impl Scenario {
    pub fn new(n: usize, every: u64, culprits: usize, seed: u64) -> Scenario {
        let mut rng = Rng(seed);
        let mut culprit = vec![false; n];
        let mut picked = 0;
        while picked < culprits {
            let i = rng.below(n);
            if !culprit[i] {
                culprit[i] = true;
                picked += 1;
            }
        }
        Scenario {
            names: (0..n).map(|i| format!("feature/r{i:03}")).collect(),
            heads: (0..n).map(|i| sha(1_000_000 + i as u64)).collect(),
            arrival: (0..n).map(|i| i as u64 * every).collect(),
            culprit,
            flaky_per_mille: 0,
            seed,
            reuse: false,
        }
    }

    /// The same requests with `reuse_results = "tree"`.
    pub fn reusing(mut self) -> Scenario {
        self.reuse = true;
        self
    }

    /// The same requests, with every CI run failing spuriously `per_mille` / 1000 of the time.
    pub fn flaky(mut self, per_mille: u64) -> Scenario {
        self.flaky_per_mille = per_mille;
        self
    }

    /// A candidate (`c…`) or probe (`p…`) of `group` on `base`, numbered `n`.
    pub fn candidate(
        &self,
        group: &[String],
        n: u64,
        base: &str,
        probe: bool,
    ) -> deploybot::core::train::Candidate {
        let tip = sha(n);
        deploybot::core::train::Candidate {
            candidate_id: format!("{}{n}", if probe { 'p' } else { 'c' }),
            sha: tip.clone(),
            base_sha: base.to_owned(),
            entries: group
                .iter()
                .map(|b| deploybot::core::train::CandidateEntry {
                    branch: b.clone(),
                    head_sha: self.heads[self.index(b)].clone(),
                    merge_sha: tip.clone(),
                })
                .collect(),
        }
    }

    pub fn index(&self, branch: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == branch)
            .expect("a known branch")
    }
}

/// What one run measured.
pub struct Outcome {
    pub label: String,
    /// Land minute per request (innocents that landed; merge mode: culprits too, later reverted).
    pub landed_at: Vec<Option<u64>>,
    pub ci_runs: u64,
    pub red_minutes: u64,
    pub pauses: u32,
    /// Tested: culprits blocked. Merge: culprits merged then reverted.
    pub culprits_out: usize,
    /// Tested: innocent entries blocked (a flaky CI failed them past their retries).
    pub innocents_blocked: usize,
    /// Tested: the most minutes, in all, an innocent entry was ready but in
    /// no candidate or probe.
    pub longest_idle: u64,
    /// Tested: the longest unbroken such wait, from the moment an innocent
    /// entry was ready to be built until it was (the fairness bound: at most
    /// two CI rounds).
    pub longest_wait_to_build: u64,
    /// Tested: the most minutes, in all, an innocent entry was ready and
    /// untested while an entry requested after it was under test (waiting
    /// behind later requests: what the fairness rule forbids).
    pub longest_behind_later: u64,
}

impl Outcome {
    /// Request→land minutes of the innocent entries that landed, sorted.
    pub fn innocent_latencies(&self, s: &Scenario) -> Vec<u64> {
        let mut l: Vec<u64> = (0..s.names.len())
            .filter(|&i| !s.culprit[i])
            .filter_map(|i| self.landed_at[i].map(|t| t - s.arrival[i]))
            .collect();
        l.sort_unstable();
        l
    }

    pub fn row(&self, s: &Scenario, reference_per_hour: Option<f64>) -> (String, f64) {
        let lat = self.innocent_latencies(s);
        let landed = lat.len();
        let last = (0..s.names.len())
            .filter(|&i| !s.culprit[i])
            .filter_map(|i| self.landed_at[i])
            .max()
            .unwrap_or(0);
        let per_hour = landed as f64 * 60.0 / last.max(1) as f64;
        let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
        let vs = reference_per_hour
            .map(|r| format!("{:.0}%", 100.0 * per_hour / r))
            .unwrap_or_else(|| "100%".to_owned());
        let row = format!(
            "| {} | {} | {} | {:.2} | {} | {} | {} | {} | {:.2} | {} | {} |",
            self.label,
            landed,
            last,
            per_hour,
            vs,
            pct(0.50),
            pct(0.95),
            lat.last().copied().unwrap_or(0),
            self.ci_runs as f64 / landed.max(1) as f64,
            self.red_minutes,
            self.pauses,
        );
        (row, per_hour)
    }
}
