//! Domain types: validated newtypes, the request bodies the service accepts and the rejections
//! their validation produces. Nothing here touches HTTP or SQL.

use chefcito::permissions::UserType;
use rand::Rng;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters: argon2 would take more, but nobody types more and
/// a bound keeps hashing costs predictable.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Length of the uids we mint (the Firebase `localId` length, so both look alike).
pub const UID_LEN: usize = 28;
/// Longest uid accepted from a caller: external providers' subjects may be longer than ours.
pub const MAX_UID_LEN: usize = chefcito::api::MAX_ID_CHARS;

/// Input that breaks a rule; always a 400, always before anything is written. The texts follow
/// Firebase's `CODE : explanation` style, which client developers already know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("INVALID_EMAIL : The email address is badly formatted")]
    InvalidEmail,
    #[error("MISSING_PASSWORD : A password is required")]
    MissingPassword,
    #[error("WEAK_PASSWORD : Password should be at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("INVALID_PASSWORD : Password should be at most {MAX_PASSWORD_CHARS} characters")]
    LongPassword,
    #[error("Invalid user type: {0}")]
    InvalidUserType(String),
    #[error("Invalid localid: it must be 1 to {MAX_UID_LEN} characters, without spaces or slashes")]
    InvalidUid,
    #[error("Invalid permissions: {}", .0.join("; "))]
    InvalidPermissions(Vec<String>),
    #[error("Too many users in one batch: at most {MAX_BATCH} ids")]
    BatchTooLarge,
    #[error("INVALID_PASSWORD : Password may not contain control characters")]
    ControlInPassword,
    #[error("WEAK_PASSWORD : Password is too common or too easy to guess")]
    GuessablePassword,
    #[error("Invalid name: at most {MAX_NAME_CHARS} characters, without control characters")]
    InvalidName,
    #[error("Invalid phone: at most {MAX_PHONE_CHARS} characters, without control characters")]
    InvalidPhone,
}

/// Longest profile name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest phone number as typed, in characters.
pub const MAX_PHONE_CHARS: usize = 32;

fn bounded_text(raw: &str, max: usize) -> bool {
    raw.chars().count() <= max && !raw.chars().any(char::is_control)
}

/// A profile name as stored (may be empty: Google sign-ins send `""`).
pub fn parse_name(raw: &str) -> Result<String, Rejected> {
    bounded_text(raw, MAX_NAME_CHARS)
        .then(|| raw.to_string())
        .ok_or(Rejected::InvalidName)
}

/// The e-mail a token carried, as a profile stores it (may be empty: phone sign-ins).
pub fn parse_profile_email(raw: &str) -> Result<String, Rejected> {
    bounded_text(raw, Email::MAX_LEN)
        .then(|| raw.to_string())
        .ok_or(Rejected::InvalidEmail)
}

/// A phone number as stored (may be empty).
pub fn parse_phone(raw: &str) -> Result<String, Rejected> {
    bounded_text(raw, MAX_PHONE_CHARS)
        .then(|| raw.to_string())
        .ok_or(Rejected::InvalidPhone)
}

/// The passwords guessed first (the most common ones, Spanish ones included); a new password
/// may be none of them, whatever its case, nor the account's own e-mail.
const COMMON_PASSWORDS: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "11223344",
    "12341234",
    "123123123",
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "qwertyui",
    "qwerty123",
    "qwertyuiop",
    "1q2w3e4r",
    "1qaz2wsx",
    "zaq12wsx",
    "asdfghjk",
    "asdf1234",
    "abcd1234",
    "abc12345",
    "abcdefgh",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "admin123",
    "administrator",
    "letmein1",
    "trustno1",
    "dragon12",
    "monkey12",
    "superman",
    "starwars",
    "whatever",
    "computer",
    "internet",
    "michelle",
    "jennifer",
    "charlie1",
    "master12",
    "contraseña",
    "contrasena",
    "contraseña1",
    "contrasena1",
    "contraseña123",
    "teamo123",
    "tequiero",
    "argentina",
    "argentina1",
    "boca1234",
    "riverplate",
    "bocajuniors",
    "chefcito",
    "chefcito1",
    "chefcito123",
    "restaurante",
    "12qwaszx",
    "q1w2e3r4",
    "1234qwer",
    "qwer1234",
];

/// Refuses the most common passwords and the account's e-mail as its password.
pub fn check_guessable(password: &Password, email: &Email) -> Result<(), Rejected> {
    let lower = password.expose().to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) || lower == email.as_str() {
        return Err(Rejected::GuessablePassword);
    }
    Ok(())
}

/// Most ids one `POST /users/batch` may ask for (a listing page of 1,000 rows at most has
/// that many distinct users).
pub const MAX_BATCH: usize = 1000;

/// An e-mail address, lower-cased so that comparisons ignore case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// Deliberately simple: one `@`, non-empty parts, a dotted domain without empty labels, no
    /// whitespace. Whether the mailbox exists is not ours to know.
    pub fn parse(raw: &str) -> Result<Email, Rejected> {
        let bad = raw.is_empty()
            || raw.len() > Self::MAX_LEN
            || raw.chars().any(|c| c.is_whitespace() || c.is_control());
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(Rejected::InvalidEmail);
        };
        let domain_ok = domain.contains('.') && domain.split('.').all(|label| !label.is_empty());
        if bad || local.is_empty() || domain.contains('@') || !domain_ok {
            return Err(Rejected::InvalidEmail);
        }
        Ok(Email(raw.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the sign-up rules. Its `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Lengths count characters, not bytes, so accented passwords are not penalised.
    pub fn parse(raw: &str) -> Result<Password, Rejected> {
        match raw.chars().count() {
            0 => Err(Rejected::MissingPassword),
            n if n < MIN_PASSWORD_CHARS => Err(Rejected::WeakPassword),
            n if n > MAX_PASSWORD_CHARS => Err(Rejected::LongPassword),
            _ if raw.chars().any(char::is_control) => Err(Rejected::ControlInPassword),
            _ => Ok(Password(raw.to_string())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A fresh Firebase-style uid: 28 random alphanumeric characters (~166 bits).
pub fn new_uid() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(UID_LEN)
        .map(char::from)
        .collect()
}

/// Checks a uid given by a caller: it ends up in paths (`/user/{uid}`), so no slashes or spaces.
pub fn parse_uid(raw: &str) -> Result<String, Rejected> {
    chefcito::api::is_valid_id(raw)
        .then(|| raw.to_string())
        .ok_or(Rejected::InvalidUid)
}

/// The types a user may register as: anonymous is what the unregistered are, never a choice.
pub fn parse_registrable_type(raw: &str) -> Result<UserType, Rejected> {
    match UserType::parse(raw) {
        Some(t @ (UserType::Client | UserType::Restaurant)) => Ok(t),
        _ => Err(Rejected::InvalidUserType(raw.to_string())),
    }
}

pub use chefcito::api::{Credentials, NewUser as Registration, ProfileUpdate, RefreshRequest};

/// A registered user as stored: `users` plus `users_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub uid: String,
    pub email: String,
    pub user_type: UserType,
    pub name: String,
    pub phone_number: String,
}

impl From<Profile> for chefcito::api::UserData {
    fn from(p: Profile) -> Self {
        chefcito::api::UserData {
            localid: p.uid,
            email: p.email,
            name: p.name,
            phone_number: p.phone_number,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("Ana.Perez@Example.COM").unwrap().as_str(),
            "ana.perez@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "ana@@example.com",
            "a@b@example.com",
            "ana @example.com",
            " ana@example.com",
            "ana@example..com",
            "ana@.example.com",
            "ana@example.com.",
        ] {
            assert_eq!(Email::parse(bad), Err(Rejected::InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(Rejected::InvalidEmail));
    }

    #[test]
    fn password_lengths_count_characters() {
        assert_eq!(Password::parse("").unwrap_err(), Rejected::MissingPassword);
        assert_eq!(
            Password::parse("1234567").unwrap_err(),
            Rejected::WeakPassword
        );
        assert!(Password::parse("ñandúñan").is_ok());
        assert!(Password::parse(&"x".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(MAX_PASSWORD_CHARS + 1)).unwrap_err(),
            Rejected::LongPassword
        );
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn uids_look_like_firebase_ones() {
        let a = new_uid();
        assert_eq!(a.len(), UID_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, new_uid());
        assert!(parse_uid("uC4M1ItQEgYLoeb1taxY3co6XED2").is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(MAX_UID_LEN + 1)] {
            assert_eq!(parse_uid(bad), Err(Rejected::InvalidUid), "{bad:?}");
        }
    }

    #[test]
    fn only_client_and_restaurant_can_be_chosen() {
        assert_eq!(parse_registrable_type("client"), Ok(UserType::Client));
        assert_eq!(
            parse_registrable_type("restaurant"),
            Ok(UserType::Restaurant)
        );
        for bad in ["anonymous", "admin", "", "Client"] {
            assert_eq!(
                parse_registrable_type(bad),
                Err(Rejected::InvalidUserType(bad.into()))
            );
        }
    }
}
