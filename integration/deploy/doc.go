// Package deploy checks the deployment artefacts in deploy/ against the code.
package deploy
