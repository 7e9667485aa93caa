// The Log Analytics workspace that receives the actor host's JSON log lines.

@description('Azure region.')
param location string

@description('Workspace name.')
param workspaceName string

@description('Days logs are kept.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Tags put on every resource.')
param tags object = {}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

output id string = workspace.id
output name string = workspace.name
