//! `Paginator`: walks a v3 collection page by page (`page=1..`, or from a checkpoint), one
//! GET per page, and refuses to follow pagination that contradicts itself. It decodes each
//! page as `V3List<T>` and does nothing else with the records. [`Paginator::fetch_page`]
//! serves walks that keep several pages in flight: it fetches any one page with the same
//! checks, and [`check_within`] bounds how far such a walk may go.

use serde::de::DeserializeOwned;
use url::form_urlencoded;

use super::models::{Pagination, V3List};
use super::{BigCommerceError, StoreClient};

/// Pages a walk may go beyond the first response's `total_pages` (the catalog may grow
/// while it is read) before it is called endless.
const GROWTH_SLACK: u32 = 5;

/// No walk goes beyond this page, whatever BigCommerce says.
const MAX_PAGES: u32 = 100_000;

/// A walk over one v3 collection, e.g. `/v3/catalog/products?include=variants`.
#[derive(Debug, Clone)]
pub struct Paginator {
    path: String,
    query: Vec<(String, String)>,
    limit: u32,
    page: u32,
    /// `total_pages` of the first page received.
    first_total_pages: Option<u32>,
    done: bool,
}

impl Paginator {
    /// A walk over `path` (without `?`) with `query` filters, `limit` items per page
    /// (BigCommerce allows 1–250), from page 1. `page` and `limit` in `query` are ignored.
    pub fn new(path: &str, query: Vec<(String, String)>, limit: u32) -> Self {
        let query = query
            .into_iter()
            .filter(|(key, _)| key != "page" && key != "limit")
            .collect();
        Self {
            path: path.to_owned(),
            query,
            limit,
            page: 1,
            first_total_pages: None,
            done: false,
        }
    }

    /// Starts at `page` instead of 1 (resuming from a checkpoint; 0 counts as 1).
    pub fn starting_at(mut self, page: u32) -> Self {
        self.page = page.max(1);
        self
    }

    /// The next page to fetch: the checkpoint to store after handling a page.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Fetches the next page. `None` once the collection is exhausted (after the last
    /// page, or at an empty page). Errors with `Pagination` if BigCommerce answers another
    /// page than the one asked, or the walk does not end.
    pub async fn next_page<T: DeserializeOwned>(
        &mut self,
        client: &StoreClient<'_>,
    ) -> Result<Option<V3List<T>>, BigCommerceError> {
        if self.done {
            return Ok(None);
        }
        self.check_not_endless()?;
        let list: V3List<T> = client.get_json(&self.path_and_query_of(self.page)).await?;
        let pagination = &list.meta.pagination;
        self.check_page(pagination)?;
        self.first_total_pages.get_or_insert(pagination.total_pages);
        self.done = is_last(pagination) || list.data.is_empty();
        if list.data.is_empty() {
            return Ok(None);
        }
        self.page += 1;
        Ok(Some(list))
    }

    /// Fetches page `page` on its own (pages may then be fetched side by side, in any
    /// order). Errors with `Pagination` if BigCommerce answers another page.
    pub async fn fetch_page<T: DeserializeOwned>(
        &self,
        client: &StoreClient<'_>,
        page: u32,
    ) -> Result<V3List<T>, BigCommerceError> {
        let list: V3List<T> = client.get_json(&self.path_and_query_of(page)).await?;
        check_answered(page, &list.meta.pagination)?;
        Ok(list)
    }

    #[cfg(test)]
    fn path_and_query(&self) -> String {
        self.path_and_query_of(self.page)
    }

    fn path_and_query_of(&self, page: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.query {
            query.append_pair(key, value);
        }
        query.append_pair("page", &page.to_string());
        query.append_pair("limit", &self.limit.to_string());
        format!("{}?{}", self.path, query.finish())
    }

    fn check_not_endless(&self) -> Result<(), BigCommerceError> {
        let walked = self.page - 1;
        if self.page > MAX_PAGES {
            return Err(BigCommerceError::Pagination(format!(
                "pagination did not end after {walked} pages; stopping"
            )));
        }
        match self.first_total_pages {
            Some(said) if self.page > said.saturating_add(GROWTH_SLACK) => {
                Err(BigCommerceError::Pagination(format!(
                    "pagination did not end after {walked} pages (BigCommerce said {said})"
                )))
            }
            _ => Ok(()),
        }
    }

    fn check_page(&self, pagination: &Pagination) -> Result<(), BigCommerceError> {
        check_answered(self.page, pagination)
    }
}

/// The page answered must be the page asked. A response without pagination (page 0)
/// cannot be checked and is taken as the only page.
fn check_answered(asked: u32, pagination: &Pagination) -> Result<(), BigCommerceError> {
    let got = pagination.current_page;
    if got == 0 || got == asked {
        return Ok(());
    }
    let again = if got < asked { " again" } else { "" };
    Err(BigCommerceError::Pagination(format!(
        "BigCommerce returned page {got}{again} when page {asked} was asked; stopping"
    )))
}

/// Whether a walk whose first response announced `announced` pages may still ask for
/// `page`: the collection may grow a little while it is read, but not without end.
pub fn check_within(announced: u32, page: u32) -> Result<(), BigCommerceError> {
    if page > MAX_PAGES {
        return Err(BigCommerceError::Pagination(format!(
            "pagination did not end after {MAX_PAGES} pages; stopping"
        )));
    }
    if page > announced.saturating_add(GROWTH_SLACK) {
        return Err(BigCommerceError::Pagination(format!(
            "pagination did not end after {} pages (BigCommerce said {announced})",
            page - 1
        )));
    }
    Ok(())
}

/// Whether this page is the last: `current_page >= total_pages`, or no `next` link.
fn is_last(pagination: &Pagination) -> bool {
    pagination.current_page >= pagination.total_pages || pagination.links.next.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bigcommerce::models::PaginationLinks;

    fn pagination(current_page: u32, total_pages: u32, next: bool) -> Pagination {
        Pagination {
            current_page,
            total_pages,
            links: PaginationLinks {
                next: next.then(|| format!("?page={}", current_page + 1)),
                ..PaginationLinks::default()
            },
            ..Pagination::default()
        }
    }

    #[test]
    fn the_query_is_encoded_with_page_and_limit_last() {
        let query = vec![
            ("include".to_owned(), "variants".to_owned()),
            (
                "date_modified:min".to_owned(),
                "2025-01-15T00:00:00+00:00".to_owned(),
            ),
            ("page".to_owned(), "9".to_owned()),
        ];
        let walk = Paginator::new("/v3/catalog/products", query, 250).starting_at(3);
        assert_eq!(
            walk.path_and_query(),
            "/v3/catalog/products?include=variants&date_modified%3Amin=2025-01-15T00%3A00%3A00%2B00%3A00&page=3&limit=250"
        );
        assert_eq!(walk.page(), 3);
    }

    #[test]
    fn the_last_page_is_known_by_its_number_or_its_missing_next_link() {
        assert!(!is_last(&pagination(1, 5, true)));
        assert!(is_last(&pagination(5, 5, true)));
        assert!(is_last(&pagination(2, 5, false)));
        assert!(is_last(&Pagination::default()), "no pagination: one page");
    }

    #[test]
    fn a_page_other_than_the_one_asked_is_an_error() {
        let walk = Paginator::new("/v3/catalog/products", Vec::new(), 50).starting_at(2);
        assert!(walk.check_page(&pagination(2, 5, true)).is_ok());
        assert!(walk.check_page(&pagination(0, 0, false)).is_ok());
        assert_eq!(
            walk.check_page(&pagination(1, 5, true)),
            Err(BigCommerceError::Pagination(
                "BigCommerce returned page 1 again when page 2 was asked; stopping".into()
            ))
        );
    }

    #[test]
    fn a_walk_past_the_announced_pages_plus_slack_is_an_error() {
        let mut walk = Paginator::new("/v3/catalog/variants", Vec::new(), 50);
        walk.first_total_pages = Some(3);
        walk.page = 3 + GROWTH_SLACK;
        assert!(walk.check_not_endless().is_ok());
        walk.page += 1;
        assert_eq!(
            walk.check_not_endless(),
            Err(BigCommerceError::Pagination(
                "pagination did not end after 8 pages (BigCommerce said 3)".into()
            ))
        );
        walk.first_total_pages = None;
        walk.page = MAX_PAGES + 1;
        assert!(walk.check_not_endless().is_err());
        assert!(check_within(3, 3 + GROWTH_SLACK).is_ok());
        assert_eq!(
            check_within(3, 4 + GROWTH_SLACK),
            Err(BigCommerceError::Pagination(
                "pagination did not end after 8 pages (BigCommerce said 3)".into()
            ))
        );
        assert!(check_within(MAX_PAGES, MAX_PAGES + 1).is_err());
    }
}
