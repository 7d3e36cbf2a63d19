// Package spreadsheet writes reports as Excel workbooks (XLSX), for the
// API and the pages alike: numbers are stored as numbers and rates as
// percentages, so that a manager can sort, sum and chart them.
package spreadsheet
