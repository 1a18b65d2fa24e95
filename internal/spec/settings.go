package spec

import (
	"errors"
	"fmt"
	"strings"
)

// The rules below are the ones the CDK app and the functions share about their settings (not a resource's
// properties): the allow-list, the organization and the management account. They live here, beside the property
// rules, so that the app validates a setting with the same function the function starts with.

// isStackPattern says whether s is a CloudFormation stack name (a letter, then letters, digits and hyphens, at
// most 128 characters), optionally ending in * to match a prefix.
func isStackPattern(s string) bool {
	s = strings.TrimSuffix(s, "*")
	if s == "" || len(s) > 128 || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	for _, c := range s {
		if !('a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ParseAllowedStacks reads the provider's stack allow-list: comma-separated stack names, each optionally ending in
// * to admit every stack whose name starts with the rest. Blanks around names and empty items are dropped; an empty
// list admits no stack beyond those a trail's tags name. A bare * is refused: it would admit every stack in the
// account and turn ownership checks off.
func ParseAllowedStacks(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case item == "*":
			return nil, errors.New(`allowed stack "*" would admit every stack in the account: name the stacks, or a prefix such as "audit-*"`)
		case !isStackPattern(item):
			return nil, fmt.Errorf("allowed stack %q: want a CloudFormation stack name (a letter, then letters, digits "+
				"or hyphens, at most 128 characters), optionally ending in * to match a prefix", item)
		}
		out = append(out, item)
	}
	return out, nil
}

// CheckOrganizationID refuses anything but an organization id, o- and 10 to 32 lower-case letters or digits: a
// delivery boundary admitting o-ID_* streams must name exactly one organization.
func CheckOrganizationID(id string) error {
	rest, ok := strings.CutPrefix(id, "o-")
	valid := ok && len(rest) >= 10 && len(rest) <= 32
	for _, c := range rest {
		valid = valid && ('a' <= c && c <= 'z' || '0' <= c && c <= '9')
	}
	if !valid {
		return fmt.Errorf("organization id %q: want o- and 10 to 32 lower-case letters or digits", id)
	}
	return nil
}

// CheckAccountID refuses anything but an AWS account id, 12 digits.
func CheckAccountID(id string) error {
	if !isAccount(id) {
		return fmt.Errorf("account %q: want an account id, 12 digits", id)
	}
	return nil
}
