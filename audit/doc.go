// Package audit checks and exports the hash chains of the request history
// (models.HistoryHash): Verify recomputes every chain and names the first
// row at which one breaks; Export writes rows with their hashes as JSON
// lines, in a form anyone can check without datashare.
package audit
