//! What an indexing selector must bring up to date before its next pick,
//! from the notifications of [`super::Selector`]:
//!
//! * [`Changes::changed`]: one backend's state changed; it is queued (once)
//!   and re-keyed at the next pick, O(log n) there.
//! * [`Changes::reweighed`]: the router recomputed eligibility and effective
//!   weights (a failure, a health flip, a slow-start step). At the next pick
//!   they are compared with a copy kept from the last one, O(n) but only two
//!   flat arrays (the router's own recomputation is O(n) too), and only the
//!   backends that differ are queued.
//! * [`Changes::resync`]: anything may have changed (state handed out
//!   wholesale): everything is rebuilt at the next pick.
//!
//! A rebuild is also forced when the candidates' `states` slice moves or the
//! number of backends changes (a selector reused over other state), and when
//! more than a quarter of the backends are queued (rebuilding is then cheaper).

use super::Candidates;

/// Pending changes; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Changes {
    all: bool,
    compare: bool,
    dirty: Vec<usize>,
    marked: Vec<bool>,
    /// Eligibility and weights (bits) at the last pick.
    eligible: Vec<bool>,
    weights: Vec<u64>,
    /// The `states` address at the last pick.
    states_at: usize,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            all: true,
            compare: false,
            dirty: Vec::new(),
            marked: Vec::new(),
            eligible: Vec::new(),
            weights: Vec::new(),
            states_at: 0,
        }
    }
}

impl Changes {
    /// Backend `i` changed.
    pub fn changed(&mut self, i: usize) {
        if self.all {
            return;
        }
        match self.marked.get_mut(i) {
            Some(m) if !*m => {
                *m = true;
                self.dirty.push(i);
                if self.dirty.len() > self.marked.len() / 4 + 16 {
                    self.all = true;
                }
            }
            Some(_) => {}
            None => self.all = true,
        }
    }

    /// Eligibility or effective weights may have changed.
    pub fn reweighed(&mut self) {
        self.compare = true;
    }

    /// Anything may have changed.
    pub fn resync(&mut self) {
        self.all = true;
    }

    /// Start bringing an index up to date with `c`: true when it must be
    /// rebuilt (the queue is then empty), false when re-keying the backends
    /// [`Changes::next`] yields is enough.
    pub fn begin(&mut self, c: &Candidates<'_>) -> bool {
        let n = c.len();
        let at = c.states.as_ptr() as usize;
        if self.marked.len() != n || at != self.states_at {
            self.all = true;
        }
        self.states_at = at;
        if self.compare && !self.all {
            let now = c.eligible.iter().zip(c.weights);
            let then = self.eligible.iter_mut().zip(&mut self.weights);
            for (i, ((e, w), (e0, w0))) in now.zip(then).enumerate() {
                if *e != *e0 || w.to_bits() != *w0 {
                    (*e0, *w0) = (*e, w.to_bits());
                    if !self.marked[i] {
                        self.marked[i] = true;
                        self.dirty.push(i);
                    }
                }
            }
            if self.dirty.len() > n / 4 + 16 {
                self.all = true;
            }
        }
        self.compare = false;
        if !self.all {
            return false;
        }
        self.all = false;
        self.dirty.clear();
        self.marked.clear();
        self.marked.resize(n, false);
        self.eligible.clear();
        self.eligible.extend_from_slice(c.eligible);
        self.weights.clear();
        self.weights.extend(c.weights.iter().map(|w| w.to_bits()));
        true
    }

    /// Queue backend `i` (a time-driven change), unless queued.
    pub fn mark(&mut self, i: usize) {
        if !self.marked[i] {
            self.marked[i] = true;
            self.dirty.push(i);
        }
    }

    /// The next queued backend, taken off the queue.
    pub fn next(&mut self) -> Option<usize> {
        let i = self.dirty.pop()?;
        self.marked[i] = false;
        Some(i)
    }
}
