# Smoke test of the Windows installer: silent per-user install, offline demo completion,
# a tampered and an unsigned sidecar refused, silent uninstall.
$ErrorActionPreference = 'Stop'
$setup = Get-ChildItem dist\*-setup.exe | Select-Object -First 1
$dir = Join-Path $env:RUNNER_TEMP 'LiteLLM Bridge'
Start-Process -Wait -FilePath $setup.FullName -ArgumentList '/S', "/D=$dir"
$exe = Join-Path $dir 'litellm-bridge.exe'
if (-not (Test-Path $exe)) { throw "not installed: $exe" }
if (Get-ItemProperty 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run' -Name LiteLLMBridge -ErrorAction SilentlyContinue) {
    throw 'autostart was enabled without being chosen'
}

$env:LITELLM_BRIDGE_HOME = Join-Path $env:RUNNER_TEMP 'bridge-home'
$port = 4747
function Bridge { & $exe @args 2>&1 | Out-String }
function Stop-Agent { & $exe stop --agent 2>&1 | Out-Null; Start-Sleep 2 }

Bridge init --template demo --non-interactive --port $port | Write-Output
Bridge start | Write-Output
if ($LASTEXITCODE -ne 0) { throw 'the agent did not start the sidecar' }
$key = (& $exe key).Trim()
$body = '{"model": "demo", "messages": [{"role": "user", "content": "hi"}]}'
$answer = Invoke-RestMethod -Method Post -Uri "http://127.0.0.1:$port/v1/chat/completions" `
    -Headers @{ Authorization = "Bearer $key" } -ContentType 'application/json' -Body $body
$text = $answer.choices[0].message.content
if ($text -notmatch 'LiteLLM Bridge demo model') { throw "unexpected answer: $text" }
Stop-Agent

function Assert-Refused([string]$what, [string]$expect) {
    $out = Bridge start
    if ($LASTEXITCODE -eq 0) { throw "a $what sidecar was started" }
    if ($out -notmatch $expect) { throw "no clear error for a $what sidecar: $out" }
    Stop-Agent
}
$sidecar = Join-Path $dir 'sidecar\litellm-bridge-sidecar.exe'
$backup = Join-Path $env:RUNNER_TEMP 'sidecar.orig'
Copy-Item $sidecar $backup
[IO.File]::AppendAllText($sidecar, 'x')
Assert-Refused 'modified' 'modified after signing'
Copy-Item -Force $backup $sidecar

$sig = Join-Path $dir 'manifest.json.sig'
$sigBackup = Join-Path $env:RUNNER_TEMP 'manifest.sig'
Move-Item $sig $sigBackup
Assert-Refused 'unsigned' 'not signed'
Move-Item $sigBackup $sig

Start-Process -Wait -FilePath (Join-Path $dir 'uninstall.exe') -ArgumentList '/S', "_?=$dir"
if (Test-Path $exe) { throw 'uninstall left the program behind' }
Write-Output 'smoke: ok'
