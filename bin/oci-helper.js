#!/usr/bin/env node
'use strict';
// podrun-oci's warm helper (src/cli/oci-helper.ts), started by podrun-oci itself.
require('../dist/src/cli/oci-helper').main(process.argv.slice(2));
