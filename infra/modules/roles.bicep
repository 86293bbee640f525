// Least-privilege data-plane roles for the app's managed identity, and optionally for one developer.
//
// On the storage account (account scope, because the Functions host and the Durable Task extension
// create their containers, queues and tables at run time under names derived from the task hub):
//   Storage Blob Data Contributor  - host locks and timer state, Durable leases and large messages,
//                                    the app's container, the Flex Consumption deployment package
//   Storage Queue Data Contributor - Durable control and work-item queues
//   Storage Table Data Contributor - Durable History and Instances tables, the app's table
// On Application Insights:
//   Monitoring Metrics Publisher   - the only way to send telemetry, as local auth is disabled
// No management-plane role (Owner, Contributor, Storage Account Contributor) is granted: the app never
// lists keys or changes resources.

@description('Name of the storage account in this resource group.')
param storageAccountName string

@description('Name of the Application Insights component in this resource group.')
param applicationInsightsName string

@description('Name of the app\'s user-assigned managed identity in this resource group.')
param appIdentityName string

@description('Optional principal (object) id of a developer or group given the same data roles, e.g. to inspect models. Empty: none.')
param developerPrincipalId string

@description('Principal type of developerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string

// Built-in role definition ids (the same in every tenant).
var storageRoles = {
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource appStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(storageRoles): {
    name: guid(storage.id, appIdentity.id, role.value)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
      principalId: appIdentity.properties.principalId
      principalType: 'ServicePrincipal'
      description: 'ServerlessMeta Function App: ${role.key}'
    }
  }
]

resource appTelemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appIdentity.id, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'ServerlessMeta Function App: send telemetry with Entra ID authentication'
  }
}

resource developerStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(storageRoles): if (!empty(developerPrincipalId)) {
    name: guid(storage.id, developerPrincipalId, role.value)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
      principalId: developerPrincipalId
      principalType: developerPrincipalType
      description: 'ServerlessMeta developer access: ${role.key}'
    }
  }
]
