package scheduler

import (
	"strconv"
	"strings"
)

// matchSpec tells whether value satisfies the extra spec requirement req, in
// nova's operator language: "= 4" (at least 4), "== 4", "!= 4", ">= 4",
// "<= 4", "s== x", "s!= x", "s< x", "s<= x", "s> x", "s>= x", "<in> x"
// (substring), "<all-in> x y" (all substrings), "<or> a <or> b"; anything
// else must equal value exactly. Numeric operators fail on values that are
// not numbers, where nova would raise.
func matchSpec(value, req string) bool {
	words := strings.Fields(req)
	if len(words) == 0 {
		return value == req
	}
	op, args := words[0], words[1:]
	if op == "<or>" {
		for len(args) > 0 {
			if args[0] == value {
				return true
			}
			args = args[1:]
			if len(args) == 0 {
				break
			}
			args = args[1:] // the next "<or>"
		}
		return false
	}
	if !isSpecOp(op) {
		return value == req
	}
	if len(args) == 0 {
		return false
	}
	arg := args[0]
	switch op {
	case "<in>":
		return strings.Contains(value, arg)
	case "<all-in>":
		for _, a := range args {
			if !strings.Contains(value, a) {
				return false
			}
		}
		return true
	case "s==":
		return value == arg
	case "s!=":
		return value != arg
	case "s<":
		return value < arg
	case "s<=":
		return value <= arg
	case "s>":
		return value > arg
	case "s>=":
		return value >= arg
	}
	x, errX := strconv.ParseFloat(strings.TrimSpace(value), 64)
	y, errY := strconv.ParseFloat(arg, 64)
	if errX != nil || errY != nil {
		return false
	}
	switch op {
	case "=", ">=":
		return x >= y
	case "==":
		return x == y
	case "!=":
		return x != y
	case "<=":
		return x <= y
	}
	return false
}

func isSpecOp(op string) bool {
	switch op {
	case "=", "<in>", "<all-in>", "==", "!=", ">=", "<=", "s==", "s!=", "s<", "s<=", "s>", "s>=":
		return true
	}
	return false
}
