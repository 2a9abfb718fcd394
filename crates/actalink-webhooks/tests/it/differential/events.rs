//! Documents: events of the documented shape, events whose fields drift
//! from it, and any JSON value at all.

use super::generate::Gen;

impl Gen {
    /// One document: an event of the documented shape, an event whose fields
    /// drift, or any JSON value at all.
    pub(super) fn document(&mut self) -> Vec<u8> {
        self.out.clear();
        self.ws();
        match self.rng.u8(..) {
            0..=119 => {
                self.out.extend_from_slice(b"{\"id\":\"evt_");
                let id = self.rng.u32(..).to_string();
                self.out.extend_from_slice(id.as_bytes());
                self.out.extend_from_slice(
                    b"\",\"eventType\":\"onetime.executed\",\"eventData\":{\"data\":",
                );
                self.value(1);
                self.out.extend_from_slice(b"}}");
            }
            120..=189 => self.drifted_event(),
            _ => self.value(0),
        }
        self.ws();
        std::mem::take(&mut self.out)
    }

    /// Writes `"key":` and a value: usually `documented`, sometimes any value.
    fn member(&mut self, first: &mut bool, key: &str, documented: &dyn Fn(&mut Self)) {
        if self.rng.u8(..) < 25 {
            return; // Absent.
        }
        if !*first {
            self.out.push(b',');
            self.ws();
        }
        *first = false;
        self.out.extend_from_slice(format!("\"{key}\":").as_bytes());
        self.ws();
        match self.rng.u8(..) {
            0..=159 => documented(self),
            160..=179 => self.out.extend_from_slice(b"null"),
            180..=209 => self.number(),
            _ => self.value(4),
        }
    }

    /// An object of the members the closure writes.
    fn object_of(&mut self, members: &dyn Fn(&mut Self, &mut bool)) {
        self.out.push(b'{');
        let mut first = true;
        members(self, &mut first);
        // Sometimes an extra member, or a repeat of an id whose last value wins.
        if self.rng.u8(..) < 40 {
            let key = self.pick(&["id", "extra", "token", "metadata", "0"]);
            self.member(&mut first, key, &|g| g.value(4));
        }
        self.out.push(b'}');
    }

    fn drifted_event(&mut self) {
        let text = |g: &mut Self| g.string();
        let amount = |g: &mut Self| {
            let amount = match g.rng.u8(0..4) {
                0 => format!("\"{:#x}\"", g.rng.u64(..)),
                1 => format!("{}", g.rng.u64(..1 << 53)),
                2 => format!("\"{}\"", g.rng.u32(..)),
                _ => format!("{}e{}", g.rng.u8(1..10), g.rng.u8(0..45)),
            };
            g.out.extend_from_slice(amount.as_bytes());
        };
        let decimals = |g: &mut Self| {
            g.one_of(&[
                "6",
                "\"6\"",
                "18",
                "\"018\"",
                "4294967295",
                "4294967296",
                "-1",
                "6.5",
                "\"\"",
                "1e3",
            ]);
        };
        let token = |g: &mut Self| {
            g.object_of(&|g, first| {
                g.member(first, "name", &text);
                g.member(first, "amount", &amount);
                g.member(first, "decimals", &decimals);
            });
        };
        let metadata = |g: &mut Self| {
            g.object_of(&|g, first| {
                for _ in 0..g.rng.usize(0..5) {
                    let key = g.key();
                    let key = String::from_utf8_lossy(&key[1..key.len() - 1]).into_owned();
                    g.member(first, &key, &text);
                }
            });
        };
        // Ids with the characters where whitespace and control rules differ
        // between definitions (NEL, BOM, the Mongolian vowel separator, zero
        // width space, C1 controls), to pin both sides to the same rule.
        let session_id = |g: &mut Self| {
            if g.rng.bool() {
                return g.string();
            }
            let inside = g.pick(&[
                "", "\\u0085", "\\u00a0", "\\u1680", "\\u180e", "\\u200b", "\\u2028", "\\u3000",
                "\\ufeff", "\\u007f", "\\u009f", "\\u0000", " ", "\\t", "é",
            ]);
            let id = format!(
                "\"{}checkout_{inside}x\"",
                if g.rng.u8(..) < 20 { inside } else { "" }
            );
            g.out.extend_from_slice(id.as_bytes());
        };
        let subject = |g: &mut Self| {
            g.object_of(&|g, first| {
                g.member(first, "id", &text);
                g.member(first, "token", &token);
                g.member(first, "metadata", &metadata);
                g.member(first, "checkoutSessionId", &session_id);
            });
        };
        let event_data = |g: &mut Self| {
            g.object_of(&|g, first| {
                g.member(first, "metadata", &metadata);
                g.member(first, "data", &subject);
            });
        };
        let event_type = |g: &mut Self| {
            g.one_of(&[
                "\"onetime.executed\"",
                "\"subscription.billing.due\"",
                "\"subscription.billing.scheduled\"",
                "\"checkout.session.completed\"",
                "\"\"",
            ]);
        };
        self.object_of(&|g, first| {
            g.member(first, "id", &text);
            g.member(first, "eventType", &event_type);
            g.member(first, "eventData", &event_data);
        });
    }
}
