//! The benchmark's workloads: what each one asks the gateway, as the `request` function of a
//! wrk script built from the seeded data. Every request carries a real token.

use serde::Serialize;

use super::seed::{PASSWORD, Seeded};
use super::wrk::{lua_list, lua_string};

/// `text` for a query string: every byte but unreserved ones as `%XX` ("Sándwiches" has
/// two such bytes, "Comida China" a space).
pub fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// One kind of request, sent over and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// GET /venues?id=<a seeded venue> (a diner's token).
    VenueById,
    /// GET /venues?limit=10&start=<a random page>.
    VenuesPage,
    /// GET /venues?characteristic=<one of the vocabulary>&limit=10.
    Search,
    /// GET /venues/near?location=<lat>&location=<lon>&limit=10 from a random point of the city.
    NearMe,
    /// POST /reservations at a random venue and quarter hour of the next four weeks.
    Book,
    /// GET /reservations/venue?limit=20 (a restaurant's token): its bookings, enriched.
    VenueReservations,
    /// POST /auth/signin: argon2id, slow on purpose (reported apart).
    SignIn,
}

impl Workload {
    pub const ALL: [Workload; 7] = [
        Workload::VenueById,
        Workload::VenuesPage,
        Workload::Search,
        Workload::NearMe,
        Workload::Book,
        Workload::VenueReservations,
        Workload::SignIn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::VenueById => "venue-by-id",
            Workload::VenuesPage => "venues-page",
            Workload::Search => "search",
            Workload::NearMe => "near-me",
            Workload::Book => "book",
            Workload::VenueReservations => "venue-reservations",
            Workload::SignIn => "sign-in",
        }
    }

    /// The issue's target in requests per second (`None`: reported, no target).
    pub fn target(self) -> Option<f64> {
        match self {
            Workload::VenueById => Some(10_000.0),
            Workload::VenuesPage | Workload::Search => Some(8_000.0),
            Workload::NearMe | Workload::Book => Some(3_000.0),
            Workload::VenueReservations => Some(2_000.0),
            Workload::SignIn => None,
        }
    }

    /// A read: repeated at `--scale`.
    pub fn is_read(self) -> bool {
        !matches!(self, Workload::Book | Workload::SignIn)
    }

    /// The Lua defining `request()` for this workload over `seeded`.
    pub fn lua(self, seeded: &Seeded) -> String {
        let tokens = |accounts: &[super::gateway::Account]| {
            let list: Vec<&str> = accounts.iter().map(|a| a.token.as_str()).collect();
            format!("local tokens = {}", lua_list(&list))
        };
        let venues = seeded.venue_ids();
        let get = |path_expr: &str| {
            format!(
                "function request()\n  return wrk.format(\"GET\", {path_expr}, {{[\"Authorization\"] = \"Bearer \" .. pick(tokens)}})\nend"
            )
        };
        match self {
            Workload::VenueById => format!(
                "{}\nlocal venues = {}\n{}",
                tokens(&seeded.diners),
                lua_list(&venues),
                get("\"/venues?id=\" .. pick(venues)")
            ),
            Workload::VenuesPage => format!(
                "{}\nlocal pages = {}\n{}",
                tokens(&seeded.diners),
                venues.len().div_ceil(10).max(1),
                get("\"/venues?limit=10&start=\" .. (10 * (math.random(pages) - 1))")
            ),
            Workload::Search => format!(
                "{}\nlocal tags = {}\n{}",
                tokens(&seeded.diners),
                lua_list(&chefcito::api::CHARACTERISTICS.map(percent_encoded)),
                get("\"/venues?limit=10&characteristic=\" .. pick(tags)")
            ),
            Workload::NearMe => format!(
                "{}\n{}",
                tokens(&seeded.diners),
                get(
                    "string.format(\"/venues/near?location=%.5f&location=%.5f&limit=10\", -34.70 + 0.16 * math.random(), -58.52 + 0.16 * math.random())"
                )
            ),
            Workload::Book => format!(
                r#"{}
local venues = {}
-- Tomorrow at midnight UTC, then any quarter hour of four weeks.
local first = (math.floor(os.time() / 86400) + 1) * 86400
function request()
  local at = first + 900 * math.random(0, 28 * 96 - 1)
  local body = string.format('{{"venue":"%s","time":"%s","people":%d}}',
    pick(venues), os.date("!%Y-%m-%dT%H:%M:%SZ", at), math.random(1, 6))
  return wrk.format("POST", "/reservations", {{["Authorization"] = "Bearer " .. pick(tokens), ["Content-Type"] = "application/json"}}, body)
end"#,
                tokens(&seeded.diners),
                lua_list(&venues)
            ),
            Workload::VenueReservations => format!(
                "{}\n{}",
                tokens(&seeded.restaurants),
                get("\"/reservations/venue?limit=20\"")
            ),
            Workload::SignIn => {
                let emails: Vec<&str> = seeded.diners.iter().map(|a| a.email.as_str()).collect();
                format!(
                    r#"local emails = {}
local password = {}
function request()
  local body = string.format('{{"email":"%s","password":"%s"}}', pick(emails), password)
  return wrk.format("POST", "/auth/signin", {{["Content-Type"] = "application/json"}}, body)
end"#,
                    lua_list(&emails),
                    lua_string(PASSWORD)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent_encoded("Comida China"), "Comida%20China");
        assert_eq!(percent_encoded("Sándwiches"), "S%C3%A1ndwiches");
        assert_eq!(percent_encoded("a&b=c"), "a%26b%3Dc");
    }
}
