# Authenticode-sign files with signtool (Windows SDK), timestamped.
#   codesign.ps1 -Pfx C:\path\cert.pfx FILE...
# The certificate password comes from $env:CODESIGN_PASSWORD. Called by installer/build.py
# on every .exe before the manifest is made (signing changes the files' bytes) and by
# installer/windows_installer.py on the setup program.
param(
    [Parameter(Mandatory = $true)][string]$Pfx,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Files
)
$ErrorActionPreference = 'Stop'
$timestamp = if ($env:CODESIGN_TIMESTAMP_URL) { $env:CODESIGN_TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }
$signtool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" |
    Sort-Object FullName -Descending | Select-Object -First 1
if (-not $signtool) { throw 'signtool.exe not found: install the Windows SDK' }
foreach ($file in $Files) {
    & $signtool.FullName sign /fd sha256 /td sha256 /tr $timestamp /f $Pfx /p $env:CODESIGN_PASSWORD $file
    if ($LASTEXITCODE -ne 0) { throw "signtool failed on $file" }
}
