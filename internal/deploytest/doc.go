// Package deploytest checks the deployment artefacts in deploy/ against the code.
package deploytest
