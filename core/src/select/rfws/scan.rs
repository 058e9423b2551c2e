//! The reference: step 3 by a full scan of the backends, O(n) per pick. The
//! indexed [`Rfws`] must give exactly what this gives; it is what
//! [`Rfws::reference`] runs, and what the property tests compare against.

use super::{offer, open_before, Candidates, Node, Rfws};

impl Rfws {
    /// Step 3: `A` for every eligible node; overloaded nodes into `over`, the
    /// others into `open` (one pass over the backends); then, over `open`, the
    /// nodes in the band of the best `A` into `tied` and the best `limit` into
    /// `top`. Returns whether any node is overloaded.
    pub(super) fn scan(&mut self, c: &Candidates<'_>, limit: usize) -> bool {
        self.over.clear();
        self.open.clear();
        self.tied.clear();
        self.top.clear();
        let keep = 1.0 - self.tie_tolerance;
        let threshold = self.load_threshold;
        let mut best = f64::NEG_INFINITY;
        let nodes = self
            .nodes
            .iter_mut()
            .zip(c.states)
            .zip(c.eligible)
            .zip(c.weights);
        for (i, (((n, s), &eligible), &w)) in nodes.enumerate() {
            if !eligible {
                continue;
            }
            let node: Node = n.score(i, s, w, c.now_ms);
            if node.v_fs > threshold {
                self.over.push(node);
                continue;
            }
            // Written so that it compiles to a `max`, not a branch.
            best = if node.a > best { node.a } else { best };
            self.open.push(node);
        }
        // Over the nodes under the threshold, now that the band is known: both
        // tests below are rarely true, so they cost little and predict well.
        let band = best * keep;
        for &node in &self.open {
            if node.a >= band {
                self.tied.push((node.i, node.a));
            }
            // `offer` rejects a node whose `A` is below the `limit`-th (or NaN)
            // without a look at `D` or `B_R`: skip the call.
            if limit > 0 && (self.top.len() < limit || node.a >= self.top[limit - 1].a) {
                offer(&mut self.top, limit, node, |x, y| open_before(c, x, y));
            }
        }
        !self.over.is_empty()
    }
}
