//! `db_config.yaml`: user types and per-endpoint permissions, and the table the gateway
//! enforces.
//!
//! File format (the original's, see `original-users-gateway.md` §6):
//!
//! ```yaml
//! usertypes:            # optional; each value must equal its key (renaming is not supported)
//!   anonymous: anonymous
//!   client: client
//!   restaurant: restaurant
//! endpoints:
//!   - name: /venues/param
//!     allowed: [anonymous]          # a single `anonymous` means every type
//!   - name: /venue
//!     allowed: [restaurant]
//! ```
//!
//! Decisions (spec §3): a request path matches an entry exactly or with its last segment
//! replaced by `param`; an exact entry wins over the `param` one, so `/reservations/history`
//! can be narrower than `/reservations/param`. The original let a renamed anonymous type
//! silently break anonymous access; we refuse renaming instead. Parsing validates the whole
//! file and reports every problem with the offending entry before anything is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// The three user types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Anonymous,
    Client,
    Restaurant,
}

impl UserType {
    pub const ALL: [UserType; 3] = [UserType::Anonymous, UserType::Client, UserType::Restaurant];

    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Anonymous => "anonymous",
            UserType::Client => "client",
            UserType::Restaurant => "restaurant",
        }
    }

    pub fn parse(s: &str) -> Option<UserType> {
        UserType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for UserType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    usertypes: Option<BTreeMap<String, String>>,
    endpoints: Option<Vec<RawEntry>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Option<String>,
    allowed: Option<Vec<String>>,
}

/// A validated permission set: endpoint pattern → the types allowed on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    pub endpoints: BTreeMap<String, BTreeSet<UserType>>,
}

/// Every problem found in a file, each naming its entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid permissions file:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

impl Permissions {
    /// Parses and validates a `db_config.yaml` text.
    pub fn from_yaml(text: &str) -> Result<Permissions, ConfigErrors> {
        if text.trim().is_empty() {
            return Err(ConfigErrors(vec![
                "the file is empty: expected `usertypes:` and `endpoints:`".into(),
            ]));
        }
        let raw: RawFile = serde_saphyr::from_str(text)
            .map_err(|e| ConfigErrors(vec![format!("not valid YAML for this format: {e}")]))?;
        let mut errors = Vec::new();
        for (key, value) in raw.usertypes.iter().flatten() {
            match UserType::parse(key) {
                None => errors.push(format!("usertypes: unknown type `{key}`; the types are anonymous, client and restaurant")),
                Some(_) if key != value => errors.push(format!(
                    "usertypes: `{key}: {value}` renames a type, which is not supported; write `{key}: {key}`"
                )),
                Some(_) => {}
            }
        }
        let Some(entries) = raw.endpoints else {
            errors.push("missing `endpoints:` list".into());
            return Err(ConfigErrors(errors));
        };
        let mut endpoints = BTreeMap::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let at = format!("endpoints[{index}]");
            let Some(name) = entry.name else {
                errors.push(format!("{at}: missing `name`"));
                continue;
            };
            let at = format!("{at} ({name})");
            if !is_valid_endpoint(&name) {
                errors.push(format!(
                    "{at}: `name` must be a path starting with `/`, without query or spaces"
                ));
            }
            let Some(allowed) = entry.allowed else {
                errors.push(format!("{at}: missing `allowed` (a list of user types)"));
                continue;
            };
            let mut types = BTreeSet::new();
            for t in &allowed {
                match UserType::parse(t) {
                    Some(t) => {
                        types.insert(t);
                    }
                    None => errors.push(format!(
                        "{at}: unknown user type `{t}`; expected anonymous, client or restaurant"
                    )),
                }
            }
            // "anonymous means everyone" applies only to a lone `anonymous`, as in the original.
            if allowed.len() == 1 && types.contains(&UserType::Anonymous) {
                types.extend(UserType::ALL);
            }
            if endpoints.insert(name.clone(), types).is_some() {
                errors.push(format!("{at}: listed twice"));
            }
        }
        if errors.is_empty() {
            Ok(Permissions { endpoints })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads and validates a file.
    pub fn from_file(path: &std::path::Path) -> Result<Permissions, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("cannot read {}: {e}", path.display())]))?;
        Permissions::from_yaml(&text)
    }

    /// `(endpoint, type)` rows, as stored. An entry that allows nobody (`allowed: []`) is one
    /// row with the type [`NOBODY`], so that it is stored, and keeps refusing everyone, instead
    /// of vanishing and letting a `param` sibling decide.
    pub fn rows(&self) -> Vec<(String, &'static str)> {
        self.endpoints
            .iter()
            .flat_map(|(e, types)| {
                let names: Vec<&'static str> = if types.is_empty() {
                    vec![NOBODY]
                } else {
                    types.iter().map(|t| t.as_str()).collect()
                };
                names.into_iter().map(move |t| (e.clone(), t))
            })
            .collect()
    }

    /// Builds a set back from stored rows; a type name that is not a type (e.g. [`NOBODY`])
    /// keeps the entry without adding a type.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, String)>) -> Permissions {
        let mut endpoints: BTreeMap<String, BTreeSet<UserType>> = BTreeMap::new();
        for (endpoint, t) in rows {
            let types = endpoints.entry(endpoint).or_default();
            if let Some(t) = UserType::parse(&t) {
                types.insert(t);
            }
        }
        Permissions { endpoints }
    }

    /// What replacing `self` by `new` changes, one line per added or removed row.
    pub fn diff(&self, new: &Permissions) -> Diff {
        let old: BTreeSet<_> = self.rows().into_iter().collect();
        let new: BTreeSet<_> = new.rows().into_iter().collect();
        Diff {
            added: new
                .difference(&old)
                .map(|(e, t)| format!("{e} {t}"))
                .collect(),
            removed: old
                .difference(&new)
                .map(|(e, t)| format!("{e} {t}"))
                .collect(),
        }
    }
}

/// The stored type name of an entry that allows nobody.
pub const NOBODY: &str = "nobody";

/// Whether `name` can be an entry of the table: a path starting with `/`, without query,
/// fragment or spaces. The YAML loader and the users service's `PUT /permissions` share it.
pub fn is_valid_endpoint(name: &str) -> bool {
    name.starts_with('/') && !name.contains(['?', '#', ' '])
}

/// Rows added and removed by a replace, as `"<endpoint> <type>"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// The answer of the users service's permission endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionedPermissions {
    pub version: i64,
    pub permissions: Permissions,
}

/// The in-memory table the gateway consults on every request.
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: HashMap<String, BTreeSet<UserType>>,
}

/// The pattern a request path matches when its last segment is generalised.
pub fn param_pattern(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => format!("{}/param", &path[..i]),
        None => "/param".to_string(),
    }
}

impl Table {
    pub fn new(permissions: &Permissions) -> Table {
        Table {
            entries: permissions
                .endpoints
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The types allowed on `path`: the exact entry if there is one, else the `param` entry;
    /// `None` when neither exists.
    pub fn allowed(&self, path: &str) -> Option<&BTreeSet<UserType>> {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        self.entries
            .get(path)
            .or_else(|| self.entries.get(&param_pattern(path)))
    }

    /// Whether `user_type` may call `path`; no entry at all means no.
    pub fn allows(&self, path: &str, user_type: UserType) -> bool {
        self.allowed(path)
            .is_some_and(|types| types.contains(&user_type))
    }

    /// Whether every user type may call `path` (then who is calling does not matter).
    pub fn open_to_all(&self, path: &str) -> bool {
        self.allowed(path)
            .is_some_and(|types| types.len() == UserType::ALL.len())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UserType::*;

    /// The mock table of the original `test_user_data`.
    const MOCK: &str = r#"
usertypes:
  anonymous: anonymous
  client: client
  restaurant: restaurant
endpoints:
  - name: /restaurant-allowed
    allowed: [restaurant]
  - name: /client-allowed
    allowed: [client]
  - name: /both-allowed
    allowed: [restaurant, client]
  - name: /all-allowed
    allowed: [anonymous]
"#;

    fn mock() -> Table {
        Table::new(&Permissions::from_yaml(MOCK).unwrap())
    }

    #[test]
    fn anonymous_cannot_call_non_anonymous_endpoints() {
        let t = mock();
        for path in ["/restaurant-allowed", "/client-allowed", "/both-allowed"] {
            assert!(!t.allows(path, Anonymous), "{path}");
        }
    }

    #[test]
    fn client_cannot_call_restaurant_endpoint_and_vice_versa() {
        let t = mock();
        assert!(!t.allows("/restaurant-allowed", Client));
        assert!(!t.allows("/client-allowed", Restaurant));
        assert!(t.allows("/client-allowed", Client));
        assert!(t.allows("/restaurant-allowed", Restaurant));
    }

    #[test]
    fn lone_anonymous_means_everyone() {
        let t = mock();
        for ty in UserType::ALL {
            assert!(t.allows("/all-allowed", ty));
        }
    }

    #[test]
    fn open_to_all_needs_every_type() {
        let t = mock();
        assert!(t.open_to_all("/all-allowed"));
        assert!(!t.open_to_all("/both-allowed"));
        assert!(!t.open_to_all("/unknown"));
    }

    #[test]
    fn client_and_restaurant_both_allowed() {
        let t = mock();
        assert!(t.allows("/both-allowed", Client) && t.allows("/both-allowed", Restaurant));
    }

    #[test]
    fn anonymous_with_others_is_literal() {
        let p =
            Permissions::from_yaml("endpoints:\n  - name: /x\n    allowed: [anonymous, client]\n")
                .unwrap();
        let t = Table::new(&p);
        assert!(t.allows("/x", Anonymous) && t.allows("/x", Client) && !t.allows("/x", Restaurant));
    }

    #[test]
    fn exact_entry_wins_over_param() {
        let p = Permissions::from_yaml(
            "endpoints:\n  - name: /reservations/param\n    allowed: [anonymous]\n  - name: /reservations/history\n    allowed: [client]\n",
        )
        .unwrap();
        let t = Table::new(&p);
        assert!(t.allows("/reservations/abc", Restaurant));
        assert!(t.allows("/reservations/history", Client));
        assert!(!t.allows("/reservations/history", Restaurant));
        assert!(!t.allows("/reservations/history", Anonymous));
    }

    #[test]
    fn only_the_last_segment_is_generalised() {
        assert_eq!(param_pattern("/stats/user/u1"), "/stats/user/param");
        assert_eq!(param_pattern("/venue"), "/param");
        assert_eq!(param_pattern("/"), "/param");
        let p = Permissions::from_yaml(
            "endpoints:\n  - name: /stats/user/param\n    allowed: [client]\n",
        )
        .unwrap();
        let t = Table::new(&p);
        assert!(t.allows("/stats/user/u1", Client));
        assert!(!t.allows("/stats/user/u1/more", Client));
        assert!(!t.allows("/unknown", Client));
    }

    #[test]
    fn reports_every_problem_with_its_entry() {
        let text = "usertypes:\n  client: cliente\n  admin: admin\nendpoints:\n  - name: /a\n    allowed: [superuser]\n  - allowed: [client]\n  - name: b\n    allowed: [client]\n  - name: /a\n    allowed: [client]\n  - name: /c\n";
        let errors = Permissions::from_yaml(text).unwrap_err().0;
        let all = errors.join("\n");
        assert!(all.contains("renames a type"), "{all}");
        assert!(all.contains("unknown type `admin`"), "{all}");
        assert!(
            all.contains("endpoints[0] (/a): unknown user type `superuser`"),
            "{all}"
        );
        assert!(all.contains("endpoints[1]: missing `name`"), "{all}");
        assert!(
            all.contains("endpoints[2] (b): `name` must be a path"),
            "{all}"
        );
        assert!(all.contains("endpoints[3] (/a): listed twice"), "{all}");
        assert!(
            all.contains("endpoints[4] (/c): missing `allowed`"),
            "{all}"
        );
    }

    #[test]
    fn endpoint_names_are_paths() {
        assert!(is_valid_endpoint("/venues/param"));
        assert!(is_valid_endpoint("/"));
        for bad in ["venues", "", "/a?b=1", "/a#x", "/a b"] {
            assert!(!is_valid_endpoint(bad), "{bad:?}");
        }
    }

    #[test]
    fn rejects_empty_and_non_yaml_files() {
        assert!(Permissions::from_yaml("").is_err());
        assert!(Permissions::from_yaml("endpoints: [").is_err());
        assert!(Permissions::from_yaml("other: 1\n").is_err());
    }

    #[test]
    fn rows_round_trip_and_diff() {
        let p = Permissions::from_yaml(MOCK).unwrap();
        assert_eq!(p.rows().len(), 1 + 1 + 2 + 3);
        assert_eq!(
            Permissions::from_rows(p.rows().into_iter().map(|(e, t)| (e, t.to_string()))),
            p
        );
        let q = Permissions::from_yaml(
            "endpoints:\n  - name: /client-allowed\n    allowed: [client, restaurant]\n",
        )
        .unwrap();
        let d = p.diff(&q);
        assert_eq!(d.added, ["/client-allowed restaurant"]);
        assert_eq!(d.removed.len(), 6);
    }

    #[test]
    fn shipped_config_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db_config.yaml");
        let p = Permissions::from_file(&path).unwrap();
        assert!(Table::new(&p).allows("/users", Anonymous));
    }

    #[test]
    fn an_exact_entry_allowing_nobody_is_not_widened_by_its_param_sibling() {
        let p = Permissions::from_yaml(
            "endpoints:\n  - name: /venues/secret\n    allowed: []\n  - name: /venues/param\n    allowed: [anonymous]\n",
        )
        .unwrap();
        let table = Table::new(&p);
        for t in UserType::ALL {
            assert!(!table.allows("/venues/secret", t), "{t:?}");
            assert!(table.allows("/venues/other", t));
        }
        assert!(!table.open_to_all("/venues/secret"));
        // It survives the trip through storage rows.
        let rows = p.rows();
        assert!(rows.contains(&("/venues/secret".to_string(), NOBODY)));
        let back = Permissions::from_rows(rows.into_iter().map(|(e, t)| (e, t.to_string())));
        assert_eq!(back, p);
        assert!(!Table::new(&back).allows("/venues/secret", Anonymous));
    }
}
