package widgetapi

import (
	"slices"
	"strconv"
)

// Pagination defaults and the page sizes a client may ask for.
const DefaultPerPage = 10

// PerPageChoices are the accepted values of per_page.
var perPageChoices = []int{5, 10, 25, 50, 100}

// PerPageChoices returns the accepted values of per_page.
func PerPageChoices() []int { return slices.Clone(perPageChoices) }

// Page is a one-based page number and a page size.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of items before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// TotalPages is the number of pages for total items; never below 1, so that
// "last" always names a real page.
func (p Page) TotalPages(total int) int {
	if total <= 0 {
		return 1
	}
	return (total + p.Size - 1) / p.Size
}

// ParsePage reads page and per_page query values ("" means the default) and
// names every field that is out of range.
func ParsePage(page, perPage string) (Page, error) {
	p := Page{Number: 1, Size: DefaultPerPage}
	problems := map[string]string{}
	if page != "" {
		n, err := strconv.Atoi(page)
		// The upper bound keeps Offset far from integer overflow.
		if err != nil || n < 1 || n > 1_000_000_000 {
			problems["page"] = "page must be a positive integer, e.g. page=1"
		} else {
			p.Number = n
		}
	}
	if perPage != "" {
		n, err := strconv.Atoi(perPage)
		if err != nil || !slices.Contains(perPageChoices, n) {
			problems["per_page"] = "per_page must be one of 5, 10, 25, 50, 100"
		} else {
			p.Size = n
		}
	}
	if err := Invalid(problems); err != nil {
		return Page{}, err
	}
	return p, nil
}
